module github.com/copnet/copnet/cmd

go 1.26.0

require github.com/copnet/copnet/pkg v0.0.0

replace github.com/copnet/copnet/pkg => ../pkg
