module github.com/copnet/copnet/schemas

go 1.26.0
