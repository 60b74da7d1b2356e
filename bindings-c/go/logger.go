package kafka

// Logger is the logging interface of kafka-go.
type Logger interface {
	Printf(string, ...interface{})
}

// LoggerFunc adapts a function to Logger.
type LoggerFunc func(string, ...interface{})

func (f LoggerFunc) Printf(msg string, args ...interface{}) { f(msg, args...) }
