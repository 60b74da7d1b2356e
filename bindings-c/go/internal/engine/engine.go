// Package engine lets polykafka's subpackages (otelkafka) reach what package kafka keeps to
// itself: the engine's statistics snapshot of a Writer or Reader and the core's OpenTelemetry
// tables. Package kafka sets the functions when it is initialised.
package engine

var (
	// StatsJSON is the engine's statistics snapshot (librdkafka's JSON layout) of a
	// *kafka.Writer or *kafka.Reader; ok is false when it has none (nothing written or read
	// yet, or closed).
	StatsJSON func(client any) (text string, ok bool)
	// OTelInstruments is the core's OpenTelemetry instruments as JSON.
	OTelInstruments func() (string, error)
	// OTelPoints maps statistics snapshots to the observable instruments' points (JSON).
	OTelPoints func(snapshots []string) (string, error)
)
