//go:build linux && amd64 && !dynamic

package link

// #cgo LDFLAGS: ${SRCDIR}/../../lib/linux_amd64/libpolykafka.a -lpthread -ldl -lm -lrt -lgcc_s
import "C"
