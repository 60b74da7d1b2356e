//go:build dynamic

package link

// #cgo pkg-config: polykafka
import "C"
