package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// byteUnits are the units Kratos' byte sizes use; they are powers of 1024
// (so "128MB" is 128 MiB). The IEC spellings are accepted as well.
var byteUnits = map[string]float64{
	"":    1,
	"B":   1,
	"K":   1 << 10,
	"KB":  1 << 10,
	"KIB": 1 << 10,
	"M":   1 << 20,
	"MB":  1 << 20,
	"MIB": 1 << 20,
	"G":   1 << 30,
	"GB":  1 << 30,
	"GIB": 1 << 30,
	"T":   1 << 40,
	"TB":  1 << 40,
	"TIB": 1 << 40,
	"P":   1 << 50,
	"PB":  1 << 50,
	"PIB": 1 << 50,
	"E":   1 << 60,
	"EB":  1 << 60,
	"EIB": 1 << 60,
}

// parseByteSize parses "128MB", "1.5GB", "512 KB" or a plain number of
// bytes ("134217728").
func parseByteSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, errors.New("missing number")
	}
	f, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, err
	}
	mult, ok := byteUnits[strings.ToUpper(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, errors.New("unknown unit")
	}
	bytes := math.Round(f * mult)
	if bytes >= math.MaxUint64 {
		return 0, errors.New("too large")
	}
	return uint64(bytes), nil
}
