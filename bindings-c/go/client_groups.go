package kafka

import (
	"context"
	"net"
	"time"
)

// Consumer group administration with kafka-go's request and response shapes: ListGroups,
// DescribeGroups, DeleteGroups, OffsetFetch; and ConsumerGroupLag, which kafka-go does not
// have.

type ListGroupsRequest struct {
	Addr net.Addr
}

type ListGroupsResponse struct {
	// Error is set when the listing failed.
	Error  error
	Groups []ListGroupsResponseGroup
}

type ListGroupsResponseGroup struct {
	GroupID string
	// Coordinator is not known from a listing; -1.
	Coordinator  int
	ProtocolType string
	// GroupState and GroupType are polykafka additions ("Stable", "Empty"...; "classic" or
	// "consumer").
	GroupState string
	GroupType  string
}

// ListGroups lists the groups of the cluster.
func (c *Client) ListGroups(ctx context.Context, req *ListGroupsRequest) (*ListGroupsResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	groups, err := runAdmin(ctx, a, a.listGroups)
	if err != nil {
		return nil, err
	}
	resp := &ListGroupsResponse{}
	for _, g := range groups {
		resp.Groups = append(resp.Groups, ListGroupsResponseGroup{GroupID: g.id, Coordinator: -1, ProtocolType: g.protocolType, GroupState: g.state, GroupType: g.groupType})
	}
	return resp, nil
}

type DescribeGroupsRequest struct {
	Addr     net.Addr
	GroupIDs []string
}

type DescribeGroupsResponse struct {
	Groups []DescribeGroupsResponseGroup
}

type DescribeGroupsResponseGroup struct {
	// Error is set for a group that could not be described (GroupIdNotFound...).
	Error      error
	GroupID    string
	GroupState string
	Members    []DescribeGroupsResponseMember
}

type DescribeGroupsResponseMember struct {
	MemberID          string
	ClientID          string
	ClientHost        string
	MemberMetadata    DescribeGroupsResponseMemberMetadata
	MemberAssignments DescribeGroupsResponseAssignments
}

// DescribeGroupsResponseMemberMetadata: Topics holds the topics of the member's assignment.
type DescribeGroupsResponseMemberMetadata struct {
	Version         int
	Topics          []string
	UserData        []byte
	OwnedPartitions []DescribeGroupsResponseMemberMetadataOwnedPartition
}

type DescribeGroupsResponseMemberMetadataOwnedPartition struct {
	Topic      string
	Partitions []int
}

type DescribeGroupsResponseAssignments struct {
	Version  int
	Topics   []GroupMemberTopic
	UserData []byte
}

// GroupMemberTopic is a topic and the partitions of it assigned to a member.
type GroupMemberTopic struct {
	Topic      string
	Partitions []int
}

// DescribeGroups describes groups: state, members and their assignments. A group that does not
// exist gets its Error set (GroupIdNotFound) or the state "Dead", depending on the broker.
func (c *Client) DescribeGroups(ctx context.Context, req *DescribeGroupsRequest) (*DescribeGroupsResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	return runAdmin(ctx, a, func() (*DescribeGroupsResponse, error) {
		resp := &DescribeGroupsResponse{}
		for _, id := range req.GroupIDs {
			g, err := a.describeGroup(id)
			if err != nil {
				if _, ok := err.(*ClientError); !ok || err.(*ClientError).Code == 0 {
					return nil, err
				}
				g.Error = err
			}
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	})
}

type DeleteGroupsRequest struct {
	Addr     net.Addr
	GroupIDs []string
}

type DeleteGroupsResponse struct {
	Throttle time.Duration
	// Errors has an entry per group: nil when deleted.
	Errors map[string]error
}

// DeleteGroups deletes groups without members.
func (c *Client) DeleteGroups(ctx context.Context, req *DeleteGroupsRequest) (*DeleteGroupsResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	errs, err := runAdmin(ctx, a, func() ([]error, error) { return a.deleteGroups(req.GroupIDs) })
	if err != nil {
		return nil, err
	}
	resp := &DeleteGroupsResponse{Errors: make(map[string]error, len(req.GroupIDs))}
	for i, g := range req.GroupIDs {
		resp.Errors[g] = errs[i]
	}
	return resp, nil
}

type OffsetFetchRequest struct {
	Addr    net.Addr
	GroupID string
	// Topics maps topics to partitions; nil asks for every partition the group committed.
	Topics map[string][]int
}

type OffsetFetchResponse struct {
	Throttle time.Duration
	Topics   map[string][]OffsetFetchPartition
	Error    error
}

type OffsetFetchPartition struct {
	Partition int
	// CommittedOffset is the next offset the group reads; -1 when nothing is committed.
	CommittedOffset int64
	Metadata        string
	Error           error
}

// OffsetFetch returns a group's committed offsets.
func (c *Client) OffsetFetch(ctx context.Context, req *OffsetFetchRequest) (*OffsetFetchResponse, error) {
	a, err := c.admin(req.Addr)
	if err != nil {
		return nil, err
	}
	var list []partitionOffset
	for t, ps := range req.Topics {
		for _, p := range ps {
			list = append(list, partitionOffset{t, p, -1})
		}
	}
	offs, err := runAdmin(ctx, a, func() ([]groupOffset, error) { return a.groupOffsets(req.GroupID, list) })
	if err != nil {
		return nil, err
	}
	resp := &OffsetFetchResponse{Topics: map[string][]OffsetFetchPartition{}}
	for _, o := range offs {
		resp.Topics[o.topic] = append(resp.Topics[o.topic], OffsetFetchPartition{Partition: o.partition, CommittedOffset: o.committed})
	}
	return resp, nil
}

// PartitionLag is a group's position on one partition (a polykafka addition).
type PartitionLag struct {
	Topic           string
	Partition       int
	CommittedOffset int64
	HighWaterMark   int64
	// Lag is HighWaterMark - CommittedOffset, never negative.
	Lag int64
}

// ConsumerGroupLag returns the lag of group groupID on every partition it committed (not in
// kafka-go).
func (c *Client) ConsumerGroupLag(ctx context.Context, groupID string) ([]PartitionLag, error) {
	a, err := c.admin(nil)
	if err != nil {
		return nil, err
	}
	offs, err := runAdmin(ctx, a, func() ([]groupOffset, error) { return a.groupLag(groupID) })
	if err != nil {
		return nil, err
	}
	out := make([]PartitionLag, len(offs))
	for i, o := range offs {
		out[i] = PartitionLag{o.topic, o.partition, o.committed, o.high, o.lag}
	}
	return out, nil
}
