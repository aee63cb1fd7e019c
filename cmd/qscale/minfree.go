package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseMinFree reads --min-free: a size with an optional KiB/MiB/GiB/TiB
// unit, or a percentage. "0" turns the watermark off (-1 bytes).
func parseMinFree(v string) (bytes int64, percent float64, err error) {
	v = strings.TrimSpace(v)
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f >= 100 {
			return 0, 0, fmt.Errorf("%q is not a percentage between 0 and 100", v)
		}
		return -1, f, nil
	}
	mult := int64(1)
	for i, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if n, ok := strings.CutSuffix(v, unit); ok {
			v, mult = n, int64(1)<<(10*(i+1))
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, 0, fmt.Errorf("%q is not a size such as 256MiB or a percentage such as 1%%", v)
	}
	if n == 0 {
		return -1, 0, nil
	}
	return n * mult, 0, nil
}
