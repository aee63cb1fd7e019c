module github.com/qscale/qscale

go 1.26.8
