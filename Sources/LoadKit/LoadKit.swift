// Placeholder: schedulers, HTTP/1.1 connections, flows, recording and report writers
// arrive with the load-generator issue (#4).
