module service-bus-queue-trigger

go 1.21.3

replace github.com/KarlGW/azfunc => ../../

require github.com/KarlGW/azfunc v0.0.0-00010101000000-000000000000
