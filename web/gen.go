package web

//go:generate npm --prefix . run --silent gen
