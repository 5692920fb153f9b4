module github.com/copnet/copnet/services/membership

go 1.26.0

require (
	github.com/copnet/copnet/pkg v0.0.0
	github.com/copnet/copnet/schemas v0.0.0
	github.com/copnet/copnet/services/registry v0.0.0
)

replace (
	github.com/copnet/copnet/pkg => ../../pkg
	github.com/copnet/copnet/schemas => ../../schemas
	github.com/copnet/copnet/services/registry => ../registry
)
