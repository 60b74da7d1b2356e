package kafka

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// Client runs administrative requests, with kafka-go's shapes for the ones polykafka has:
// CreateTopics, DeleteTopics and Metadata (topics and partition numbers). The native admin
// client is created at the first request for each address and kept; Close releases it (a
// finalizer does otherwise).
type Client struct {
	// Addr is the cluster's address; a request's own Addr overrides it.
	Addr net.Addr
	// Timeout bounds each request; default 10 s (the context may end it sooner).
	Timeout time.Duration
	// Transport: a *Transport's ClientID, DialTimeout, MetadataTTL, TLS and SASL are used.
	Transport RoundTripper

	mu     sync.Mutex
	admins map[string]*nativeAdmin
}

// TopicConfig describes a topic to create.
type TopicConfig struct {
	Topic              string
	NumPartitions      int
	ReplicationFactor  int
	ReplicaAssignments []ReplicaAssignment
	ConfigEntries      []ConfigEntry
}

// ReplicaAssignment is accepted for compatibility; explicit assignments are not sent yet.
type ReplicaAssignment struct {
	Partition int
	Replicas  []int
}

// ConfigEntry is a topic configuration (retention.ms...).
type ConfigEntry struct {
	ConfigName  string
	ConfigValue string
}

type CreateTopicsRequest struct {
	Addr         net.Addr
	Topics       []TopicConfig
	ValidateOnly bool
}

type CreateTopicsResponse struct {
	Throttle time.Duration
	// Errors has an entry per topic: nil when created.
	Errors map[string]error
}

type DeleteTopicsRequest struct {
	Addr   net.Addr
	Topics []string
}

type DeleteTopicsResponse struct {
	Throttle time.Duration
	// Errors has an entry per topic: nil when deleted.
	Errors map[string]error
}

type MetadataRequest struct {
	Addr net.Addr
	// Topics to describe; nil means all (internal ones excluded).
	Topics []string
}

type MetadataResponse struct {
	Throttle   time.Duration
	Brokers    []Broker
	Controller Broker
	ClusterID  string
	Topics     []Topic
}

// Broker identifies a broker.
type Broker struct {
	Host string
	Port int
	ID   int
	Rack string
}

// Topic is a topic's metadata. Partitions carry their IDs; leaders and replicas are not
// filled in yet.
type Topic struct {
	Name       string
	Internal   bool
	Partitions []Partition
	Error      error
}

// Partition is a partition's metadata.
type Partition struct {
	Topic           string
	ID              int
	Leader          Broker
	Replicas        []Broker
	Isr             []Broker
	OfflineReplicas []Broker
	Error           error
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Second
}

func (c *Client) admin(addr net.Addr) (*nativeAdmin, error) {
	if addr == nil {
		addr = c.Addr
	}
	if addr == nil {
		return nil, errors.New("kafka.(*Client): no address (set Client.Addr or the request's Addr)")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.admins[addr.String()]; ok {
		return a, nil
	}
	props := map[string]string{
		"bootstrap.servers":      addr.String(),
		"default.api.timeout.ms": strconv.FormatInt(c.timeout().Milliseconds(), 10),
		"request.timeout.ms":     strconv.FormatInt(c.timeout().Milliseconds(), 10),
	}
	transport, err := transportProperties(c.Transport)
	if err != nil {
		return nil, err
	}
	for k, v := range transport {
		props[k] = v
	}
	a, err := newNativeAdmin(props)
	if err != nil {
		return nil, err
	}
	if c.admins == nil {
		c.admins = make(map[string]*nativeAdmin)
	}
	c.admins[addr.String()] = a
	return a, nil
}

// Close releases the client's native admin clients. Idempotent. (Not in kafka-go, whose
// Client shares its Transport's connections.)
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, a := range c.admins {
		a.free()
		delete(c.admins, k)
	}
	return nil
}

// runAdmin runs an admin request bounded by ctx (see run). An unreachable cluster fails at once
// with the connection error, as kafka-go's dial error, instead of being retried within Timeout.
func runAdmin[T any](ctx context.Context, a *nativeAdmin, f func() (T, error)) (T, error) {
	return run(ctx, func() (T, error) {
		if err := a.connectOnce(); err != nil {
			var zero T
			return zero, err
		}
		return f()
	})
}

// CreateTopics creates topics and waits until they can be used.
func (c *Client) CreateTopics(ctx context.Context, req *CreateTopicsRequest) (*CreateTopicsResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	errs, err := runAdmin(ctx, a, func() ([]error, error) { return a.createTopics(req.Topics, req.ValidateOnly) })
	if err != nil {
		return nil, err
	}
	resp := &CreateTopicsResponse{Errors: make(map[string]error, len(req.Topics))}
	for i, t := range req.Topics {
		resp.Errors[t.Topic] = errs[i]
	}
	return resp, nil
}

// DeleteTopics deletes topics.
func (c *Client) DeleteTopics(ctx context.Context, req *DeleteTopicsRequest) (*DeleteTopicsResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	errs, err := runAdmin(ctx, a, func() ([]error, error) { return a.deleteTopics(req.Topics) })
	if err != nil {
		return nil, err
	}
	resp := &DeleteTopicsResponse{Errors: make(map[string]error, len(req.Topics))}
	for i, t := range req.Topics {
		resp.Errors[t] = errs[i]
	}
	return resp, nil
}

// Metadata lists topics (all, or those requested) with their partitions. A requested topic
// that does not exist has its Error set.
func (c *Client) Metadata(ctx context.Context, req *MetadataRequest) (*MetadataResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	return runAdmin(ctx, a, func() (*MetadataResponse, error) {
		names := req.Topics
		if names == nil {
			var err error
			if names, err = a.listTopics(false); err != nil {
				return nil, err
			}
		}
		resp := &MetadataResponse{}
		for _, name := range names {
			t := Topic{Name: name}
			n, err := a.partitionCount(name)
			if err != nil {
				t.Error = err
			}
			for id := 0; id < n; id++ {
				t.Partitions = append(t.Partitions, Partition{Topic: name, ID: id})
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil
	})
}
