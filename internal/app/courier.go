package app

import (
	"context"
	"errors"

	"github.com/hoplite-id/hoplite/internal/courier"
)

// StartCourier runs the mail worker in this process when it should: always
// with force (serve --watch-courier) or the watch-courier key, and otherwise
// when a sender is configured (SMTP, or the log in dev mode) and
// courier.worker.enabled is not false. It reports whether the worker runs;
// Close stops it.
func (a *App) StartCourier(ctx context.Context, force bool) (bool, error) {
	force = force || a.Config.WatchCourier
	if !force && !a.Config.Courier.Worker.Enabled {
		if a.MailSender != nil {
			a.Logger.Info("courier: courier.worker.enabled is false, so this process does not send mail; run `hoplite courier watch` to deliver the queued messages")
		}
		return false, nil
	}
	if !force && a.MailSender == nil {
		return false, nil
	}
	if err := a.WatchCourier(ctx); err != nil {
		if errors.Is(err, courier.ErrNoSender) {
			return false, errors.New("--watch-courier needs courier.smtp.connection_uri (outside --dev) to send mail")
		}
		return false, err
	}
	return true, nil
}
