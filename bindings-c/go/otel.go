package kafka

// #include <stdlib.h>
// #include "polykafka.h"
import "C"

import (
	"unsafe"

	"github.com/polykafka/polykafka/bindings-c/go/internal/engine"
)

// The hooks of otelkafka (OpenTelemetry, a subpackage so that this one needs no OpenTelemetry
// module): snapshots of a Writer's or Reader's engine client and the core's mapping.
func init() {
	engine.StatsJSON = func(client any) (string, bool) {
		var statsJSON func() (string, error)
		switch c := client.(type) {
		case *Writer:
			c.mu.Lock()
			native := c.native
			c.mu.Unlock()
			if native != nil {
				statsJSON = native.statsJSON
			}
		case *Reader:
			if c.native != nil {
				statsJSON = c.native.statsJSON
			}
		}
		if statsJSON == nil {
			return "", false
		}
		text, err := statsJSON()
		return text, err == nil
	}
	engine.OTelInstruments = func() (string, error) {
		var out *C.char
		if err := takeError(C.pk_otel_instruments(&out)); err != nil {
			return "", err
		}
		defer C.pk_string_free(out)
		return C.GoString(out), nil
	}
	engine.OTelPoints = func(snapshots []string) (string, error) {
		ptrs := C.malloc(C.size_t(len(snapshots)+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
		defer C.free(ptrs)
		arr := unsafe.Slice((**C.char)(ptrs), len(snapshots)+1)
		for i, s := range snapshots {
			arr[i] = C.CString(s)
			defer C.free(unsafe.Pointer(arr[i]))
		}
		var out *C.char
		if err := takeError(C.pk_otel_points((**C.char)(ptrs), C.size_t(len(snapshots)), &out)); err != nil {
			return "", err
		}
		defer C.pk_string_free(out)
		return C.GoString(out), nil
	}
}
