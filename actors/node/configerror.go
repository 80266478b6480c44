package node

// ConfigError is a node configuration that cannot work (a bad id, a bad
// participant list), as opposed to a failure to start (a busy port, a
// corrupt log).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }
