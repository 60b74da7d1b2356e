// Package testenv is what the tests of this module and of its compatibility tests (compattest/,
// a module of its own so that kafka-go and confluent-kafka-go stay out of this module's go.mod)
// share: the facts of the test cluster and the repository's test vectors. Tests only; it
// imports nothing of the module, so internal tests of package kafka can use it too.
package testenv

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RepoRoot is the root of the polykafka repository holding this file (bindings-c/go/internal/testenv).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

// ClusterEnv gives the facts of the test cluster: the file KAFKA_CLUSTER_ENV names (else
// build/cluster/cluster.env, written by tests/cluster/kafka up), overridden by KAFKA_*
// variables in the environment.
func ClusterEnv() map[string]string {
	env := map[string]string{}
	path := os.Getenv("KAFKA_CLUSTER_ENV")
	if path == "" {
		path = filepath.Join(RepoRoot(), "build", "cluster", "cluster.env")
	}
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), "="); ok && !strings.HasPrefix(k, "#") {
				env[k] = strings.Trim(v, `"'`)
			}
		}
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "KAFKA_") {
			env[k] = v
		}
	}
	return env
}

// Bootstrap is the plaintext listener of the test cluster (see ClusterEnv).
func Bootstrap() string {
	if b := ClusterEnv()["KAFKA_BOOTSTRAP"]; b != "" {
		return b
	}
	return "127.0.0.1:9092"
}

// PartitionerVectors are the partitioner vectors every binding checks (tests/vectors/partitioners.json).
type PartitionerVectors struct {
	Murmur2 []struct {
		Key     string `json:"key"`
		Murmur2 int32  `json:"murmur2"`
	} `json:"murmur2"`
	CRC32 []struct {
		Key        string `json:"key"`
		Partitions int    `json:"partitions"`
		CRC32      int    `json:"crc32"`
	} `json:"crc32"`
}

// LoadPartitionerVectors reads the vectors, failing t when they are missing or too few.
func LoadPartitionerVectors(t testing.TB) PartitionerVectors {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "tests", "vectors", "partitioners.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v PartitionerVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Murmur2) < 10 || len(v.CRC32) < 10 {
		t.Fatalf("too few vectors: %d murmur2, %d crc32", len(v.Murmur2), len(v.CRC32))
	}
	return v
}
