//go:build linux && arm64 && !dynamic

package link

// #cgo LDFLAGS: ${SRCDIR}/../../lib/linux_arm64/libpolykafka.a -lpthread -ldl -lm -lrt -lgcc_s
import "C"
