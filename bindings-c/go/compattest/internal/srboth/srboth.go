// Package srboth gives the schema registry comparisons both libraries' clients of one registry:
// polykafka's (from the main module's internal/srtest) and confluent-kafka-go's.
package srboth

import (
	"os"
	"testing"

	ckschemaregistry "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"

	"github.com/polykafka/polykafka/bindings-c/go/internal/srtest"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
)

// Clients are polykafka's and confluent-kafka-go's clients of one registry.
type Clients struct {
	Ours   schemaregistry.Client
	Theirs ckschemaregistry.Client
}

// NewClients connects both to SCHEMA_REGISTRY_URL (skips t when unset); closed at cleanup.
func NewClients(t *testing.T) Clients {
	ours := srtest.Client(t)
	return Clients{ours, theirs(t, ckschemaregistry.NewConfig(os.Getenv("SCHEMA_REGISTRY_URL")))}
}

// Unreachable gives both libraries' clients of a registry nobody listens to, without retries.
func Unreachable(t *testing.T) Clients {
	conf := ckschemaregistry.NewConfig(srtest.UnreachableURL)
	conf.MaxRetries = 0
	return Clients{srtest.UnreachableClient(t), theirs(t, conf)}
}

func theirs(t *testing.T, conf *ckschemaregistry.Config) ckschemaregistry.Client {
	c, err := ckschemaregistry.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
