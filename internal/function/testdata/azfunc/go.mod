module github.com/KarlGW/azfunc

go 1.21

require github.com/google/go-cmp v0.6.0
