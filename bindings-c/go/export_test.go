package kafka

// PanicForTests is exported to the external tests only.
var PanicForTests = panicForTests
