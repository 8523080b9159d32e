package etcdstore

import "strings"

// Endpoints reads etcd endpoint lists written as the original msgscript took them (the
// ETCD_ENDPOINTS environment variable, -e/--etcdurls): each list separated by commas or blanks.
// Empty entries are dropped.
func Endpoints(lists ...string) []string {
	var endpoints []string
	for _, list := range lists {
		endpoints = append(endpoints, strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return endpoints
}
