package main

import "strings"

// normalize trims and lowercases an email, as the API does.
func normalize(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
