package kafka

/*
#include <stdint.h>
#include "polykafka.h"
extern void pkGoLogsWake(void *user);
extern void pkGoLogRecord(pk_log_record *record, void *user);
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// The engine's logs go to the Logger and ErrorLogger of the Writers and Readers that have
// them: errors and warnings to ErrorLogger (to Logger when ErrorLogger is nil, as kafka-go
// does), info and debug to Logger. The engine's records are process-wide (they do not say which
// client they come from), so every registered Writer or Reader gets every record while it is
// open. The library wakes one goroutine (a callback that only signals a channel; C keeps no Go
// pointer) which drains the records and calls the loggers; a Writer's or Reader's Close drains
// once more before it stops receiving.

type logSink struct{ logger, errorLogger Logger }

type logLine struct {
	level  C.pk_log_level
	target string
	text   string
}

var engineLogs struct {
	mu      sync.Mutex
	sinks   map[uint64]logSink
	next    uint64
	started bool

	drainMu sync.Mutex
	batch   []logLine // filled by pkGoLogRecord during a drain (drainMu held)
}

var logWake = make(chan struct{}, 1)

//export pkGoLogsWake
func pkGoLogsWake(unsafe.Pointer) {
	select {
	case logWake <- struct{}{}:
	default:
	}
}

//export pkGoLogRecord
func pkGoLogRecord(r *C.pk_log_record, _ unsafe.Pointer) {
	engineLogs.batch = append(engineLogs.batch, logLine{C.pk_log_level(r.level), C.GoString(r.target), C.GoString(r.text)})
}

func levelName(l C.pk_log_level) string {
	switch l {
	case C.PK_LOG_LEVEL_ERROR:
		return "ERROR"
	case C.PK_LOG_LEVEL_WARN:
		return "WARN"
	case C.PK_LOG_LEVEL_INFO:
		return "INFO"
	case C.PK_LOG_LEVEL_DEBUG:
		return "DEBUG"
	}
	return "TRACE"
}

// drainLogs hands the queued records to the registered loggers.
func drainLogs() {
	engineLogs.drainMu.Lock()
	defer engineLogs.drainMu.Unlock()
	var dropped C.uint64_t
	err := takeError(C.pk_logs_drain(C.pk_log_cb(C.pkGoLogRecord), nil, &dropped))
	batch := engineLogs.batch
	engineLogs.batch = nil
	if err != nil {
		batch = append(batch, logLine{C.PK_LOG_LEVEL_ERROR, "polykafka", fmt.Sprintf("draining the engine's logs failed: %v", err)})
	}
	if dropped > 0 {
		batch = append(batch, logLine{C.PK_LOG_LEVEL_WARN, "polykafka", fmt.Sprintf("%d engine log records dropped: the queue was full", uint64(dropped))})
	}
	if len(batch) == 0 {
		return
	}
	engineLogs.mu.Lock()
	sinks := make([]logSink, 0, len(engineLogs.sinks))
	for _, s := range engineLogs.sinks {
		sinks = append(sinks, s)
	}
	engineLogs.mu.Unlock()
	for _, l := range batch {
		for _, s := range sinks {
			lg := s.logger
			if l.level <= C.PK_LOG_LEVEL_WARN && s.errorLogger != nil {
				lg = s.errorLogger
			}
			if lg != nil {
				lg.Printf("%s %s: %s", levelName(l.level), l.target, l.text)
			}
		}
	}
}

// setLogLevel captures what the registered loggers take: DEBUG when one has a Logger, WARN
// when only ErrorLoggers, nothing when none. engineLogs.mu is held.
func setLogLevel() error {
	level := C.int32_t(C.PK_LOG_LEVEL_OFF)
	for _, s := range engineLogs.sinks {
		if s.logger != nil {
			level = C.PK_LOG_LEVEL_DEBUG
			break
		}
		level = C.PK_LOG_LEVEL_WARN
	}
	return takeError(C.pk_logs_set_level(level))
}

// registerLogs starts delivering engine records to the loggers; 0 when both are nil.
func registerLogs(logger, errorLogger Logger) (uint64, error) {
	if logger == nil && errorLogger == nil {
		return 0, nil
	}
	engineLogs.mu.Lock()
	defer engineLogs.mu.Unlock()
	if !engineLogs.started {
		if err := takeError(C.pk_logs_set_wake(C.pk_logs_wake_cb(C.pkGoLogsWake), nil)); err != nil {
			return 0, err
		}
		engineLogs.started = true
		go func() {
			for range logWake {
				drainLogs()
			}
		}()
	}
	if engineLogs.sinks == nil {
		engineLogs.sinks = map[uint64]logSink{}
	}
	engineLogs.next++
	id := engineLogs.next
	engineLogs.sinks[id] = logSink{logger, errorLogger}
	if err := setLogLevel(); err != nil {
		delete(engineLogs.sinks, id)
		return 0, err
	}
	return id, nil
}

// unregisterLogs delivers what is queued, then stops delivering to the loggers of id.
func unregisterLogs(id uint64) {
	if id == 0 {
		return
	}
	drainLogs()
	engineLogs.mu.Lock()
	defer engineLogs.mu.Unlock()
	delete(engineLogs.sinks, id)
	_ = setLogLevel() // cannot fail: the level is one of the valid ones
}
