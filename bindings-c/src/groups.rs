//! Consumer group administration on `pk_admin`: list, describe, delete groups, their committed
//! offsets and lag. Results are library-owned arrays (`items[0..len]` readable directly) freed
//! with one call each.

use std::ffi::{c_char, c_void, CString};

use pk::admin::{GroupDescription, GroupListing, PartitionLag};
use pk::{Error, Result, TopicPartition};

use crate::admin::{live_admin, write_results};
use crate::consumer::pk_topic_partition;
use crate::error::pk_error;
use crate::ffi::{c_str, check_out, guard, guard_void, out, slice, str_len};
use crate::runtime::block_on;

/// Keeps the strings that library-owned results point to.
#[derive(Default)]
struct Strings(Vec<CString>);

impl Strings {
    fn add(&mut self, s: &str) -> *const c_char {
        let c = CString::new(s.replace('\0', "")).unwrap_or_default();
        let p = c.as_ptr();
        self.0.push(c); // the bytes live on the heap: moving the CString does not move them
        p
    }
}

/// A group as listed by pk_admin_list_groups(). Strings are NUL-terminated, owned by the list.
#[repr(C)]
pub struct pk_group_listing {
    pub group_id: *const c_char,
    /// "consumer" for consumer groups, "" for others.
    pub protocol_type: *const c_char,
    /// "Stable", "Empty", "PreparingRebalance"... ("" when the broker does not say).
    pub state: *const c_char,
    /// "classic" or "consumer" ("" before Kafka 3.8).
    pub group_type: *const c_char,
}

/// The groups of the cluster. Freed with pk_group_list_free().
#[repr(C)]
pub struct pk_group_list {
    pub items: *const pk_group_listing,
    pub len: usize,
    /// The library's bookkeeping; do not touch.
    pub private_data: *mut c_void,
}

struct ListData {
    _strings: Strings,
    items: Vec<pk_group_listing>,
}

/// Lists every group of the cluster. The caller frees `*out_list` with pk_group_list_free().
#[no_mangle]
pub extern "C" fn pk_admin_list_groups(admin: *mut crate::admin::pk_admin, out_list: *mut *mut pk_group_list) -> *mut pk_error {
    guard(|| {
        let a = live_admin(admin)?;
        check_out(out_list, "out_list")?;
        let groups: Vec<GroupListing> = block_on("pk_admin_list_groups", a.list_consumer_groups())??;
        let mut s = Strings::default();
        let items = groups
            .iter()
            .map(|g| pk_group_listing {
                group_id: s.add(&g.group_id),
                protocol_type: s.add(&g.protocol_type),
                state: s.add(&g.state),
                group_type: s.add(&g.group_type),
            })
            .collect();
        let data = Box::new(ListData { _strings: s, items });
        let list = pk_group_list { items: data.items.as_ptr(), len: data.items.len(), private_data: Box::into_raw(data).cast() };
        out(out_list, "out_list", Box::into_raw(Box::new(list)))
    })
}

/// Frees a group list. `list` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_group_list_free(list: *mut pk_group_list) {
    guard_void(|| {
        if !list.is_null() {
            // SAFETY: from pk_admin_list_groups, freed once; private_data is a Box<ListData>.
            let l = unsafe { Box::from_raw(list) };
            drop(unsafe { Box::from_raw(l.private_data.cast::<ListData>()) });
        }
    })
}

/// One member of a described group. Owned by its pk_group_descriptions.
#[repr(C)]
pub struct pk_group_member {
    pub member_id: *const c_char,
    /// NULL for a dynamic member.
    pub group_instance_id: *const c_char,
    pub client_id: *const c_char,
    pub host: *const c_char,
    /// The partitions assigned to the member (`offset` is -1).
    pub assignment: *const pk_topic_partition,
    pub assignment_len: usize,
}

/// A described group. Owned by its pk_group_descriptions.
#[repr(C)]
pub struct pk_group_description {
    pub group_id: *const c_char,
    /// "Stable", "Empty", "Dead" (no such group)...
    pub state: *const c_char,
    pub protocol_type: *const c_char,
    /// The assignor in use ("range", "roundrobin", "uniform"...).
    pub protocol: *const c_char,
    /// "classic" or "consumer".
    pub group_type: *const c_char,
    /// The coordinator's node id.
    pub coordinator: i32,
    pub members: *const pk_group_member,
    pub members_len: usize,
}

/// Groups described by pk_admin_describe_groups(). Freed with pk_group_descriptions_free().
#[repr(C)]
pub struct pk_group_descriptions {
    pub items: *const pk_group_description,
    pub len: usize,
    /// The library's bookkeeping; do not touch.
    pub private_data: *mut c_void,
}

struct DescData {
    _strings: Strings,
    _assignments: Vec<Vec<pk_topic_partition>>,
    _members: Vec<Vec<pk_group_member>>,
    items: Vec<pk_group_description>,
}

fn names_arg<'a>(names: *const *const c_char, len: usize) -> Result<Vec<&'a str>> {
    slice(names, len, "names")?.iter().enumerate().map(|(i, n)| c_str(*n, &format!("names[{i}]"))).collect()
}

/// Describes `names_len` groups (NUL-terminated ids, borrowed), in the order given. A group
/// that does not exist fails the call with GROUP_ID_NOT_FOUND (Kafka 4 brokers) or is described
/// with state "Dead" and no members (older brokers). The caller frees
/// `*out_groups` with pk_group_descriptions_free().
#[no_mangle]
pub extern "C" fn pk_admin_describe_groups(
    admin: *mut crate::admin::pk_admin,
    names: *const *const c_char,
    names_len: usize,
    out_groups: *mut *mut pk_group_descriptions,
) -> *mut pk_error {
    guard(|| {
        let a = live_admin(admin)?;
        check_out(out_groups, "out_groups")?;
        let names = names_arg(names, names_len)?;
        let groups: Vec<GroupDescription> = block_on("pk_admin_describe_groups", a.describe_consumer_groups(&names))??;
        let mut s = Strings::default();
        let mut assignments = Vec::new();
        let mut members = Vec::new();
        let mut items = Vec::new();
        for g in &groups {
            let mut ms = Vec::new();
            for m in &g.members {
                let asg: Vec<pk_topic_partition> = m
                    .assignment
                    .iter()
                    .map(|tp| pk_topic_partition { topic: s.add(&tp.topic), topic_len: tp.topic.len(), partition: tp.partition, offset: -1 })
                    .collect();
                ms.push(pk_group_member {
                    member_id: s.add(&m.member_id),
                    group_instance_id: m.group_instance_id.as_deref().map_or(std::ptr::null(), |i| s.add(i)),
                    client_id: s.add(&m.client_id),
                    host: s.add(&m.host),
                    assignment: asg.as_ptr(),
                    assignment_len: asg.len(),
                });
                assignments.push(asg);
            }
            items.push(pk_group_description {
                group_id: s.add(&g.group_id),
                state: s.add(&g.state),
                protocol_type: s.add(&g.protocol_type),
                protocol: s.add(&g.protocol),
                group_type: s.add(&g.group_type),
                coordinator: g.coordinator,
                members: ms.as_ptr(),
                members_len: ms.len(),
            });
            members.push(ms);
        }
        let data = Box::new(DescData { _strings: s, _assignments: assignments, _members: members, items });
        let list = pk_group_descriptions { items: data.items.as_ptr(), len: data.items.len(), private_data: Box::into_raw(data).cast() };
        out(out_groups, "out_groups", Box::into_raw(Box::new(list)))
    })
}

/// Frees group descriptions. `groups` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_group_descriptions_free(groups: *mut pk_group_descriptions) {
    guard_void(|| {
        if !groups.is_null() {
            // SAFETY: from pk_admin_describe_groups, freed once; private_data is a Box<DescData>.
            let l = unsafe { Box::from_raw(groups) };
            drop(unsafe { Box::from_raw(l.private_data.cast::<DescData>()) });
        }
    })
}

/// Deletes `names_len` groups (NUL-terminated ids, borrowed; they must have no members).
/// `out_results` is an array of `names_len` the call fills: NULL for a group deleted, else its
/// error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP...), which the caller frees with pk_error_free().
#[no_mangle]
pub extern "C" fn pk_admin_delete_groups(
    admin: *mut crate::admin::pk_admin,
    names: *const *const c_char,
    names_len: usize,
    out_results: *mut *mut pk_error,
) -> *mut pk_error {
    guard(|| {
        let a = live_admin(admin)?;
        if names_len > 0 {
            check_out(out_results, "out_results")?;
        }
        let names = names_arg(names, names_len)?;
        let results = block_on("pk_admin_delete_groups", a.delete_consumer_groups(&names))??;
        let ordered = names
            .iter()
            .map(|n| match results.iter().find(|(g, _)| g == n) {
                Some((_, r)) => r.clone().err(),
                None => Some(Error::protocol(format!("no result for group '{n}'"))),
            })
            .collect();
        write_results(out_results, ordered);
        Ok(())
    })
}

/// A partition's committed offset, and for lag results its high watermark and lag. Strings are
/// NUL-terminated, owned by the pk_partition_offsets.
#[repr(C)]
pub struct pk_partition_offset {
    pub topic: *const c_char,
    pub topic_len: usize,
    pub partition: i32,
    /// The committed offset (the next offset the group reads); -1 when nothing is committed.
    pub committed: i64,
    /// The high watermark; -1 in pk_admin_list_group_offsets() results.
    pub high_watermark: i64,
    /// `high_watermark - committed`, never negative; -1 in pk_admin_list_group_offsets() results.
    pub lag: i64,
}

/// Offsets of a group. Freed with pk_partition_offsets_free().
#[repr(C)]
pub struct pk_partition_offsets {
    pub items: *const pk_partition_offset,
    pub len: usize,
    /// The library's bookkeeping; do not touch.
    pub private_data: *mut c_void,
}

struct OffsetsData {
    _strings: Strings,
    items: Vec<pk_partition_offset>,
}

fn offsets_out(rows: Vec<(TopicPartition, i64, i64, i64)>, out_offsets: *mut *mut pk_partition_offsets) -> Result<()> {
    let mut s = Strings::default();
    let items = rows
        .iter()
        .map(|(tp, c, h, l)| pk_partition_offset {
            topic: s.add(&tp.topic),
            topic_len: tp.topic.len(),
            partition: tp.partition,
            committed: *c,
            high_watermark: *h,
            lag: *l,
        })
        .collect();
    let data = Box::new(OffsetsData { _strings: s, items });
    let list = pk_partition_offsets { items: data.items.as_ptr(), len: data.items.len(), private_data: Box::into_raw(data).cast() };
    out(out_offsets, "out_offsets", Box::into_raw(Box::new(list)))
}

/// The offsets group `group` (NUL-terminated, borrowed) committed: for the `partitions_len`
/// partitions given (borrowed; `offset` ignored), -1 where nothing is committed, or with
/// `partitions_len` 0 for every partition it committed. Offsets pending in a transaction are
/// waited for. The caller frees `*out_offsets` with pk_partition_offsets_free().
#[no_mangle]
pub extern "C" fn pk_admin_list_group_offsets(
    admin: *mut crate::admin::pk_admin,
    group: *const c_char,
    partitions: *const pk_topic_partition,
    partitions_len: usize,
    out_offsets: *mut *mut pk_partition_offsets,
) -> *mut pk_error {
    guard(|| {
        let a = live_admin(admin)?;
        let group = c_str(group, "group")?;
        check_out(out_offsets, "out_offsets")?;
        let tps = slice(partitions, partitions_len, "partitions")?
            .iter()
            .enumerate()
            .map(|(i, p)| Ok(TopicPartition::new(str_len(p.topic, p.topic_len, &format!("partitions[{i}].topic"))?, p.partition)))
            .collect::<Result<Vec<_>>>()?;
        let arg = (!tps.is_empty()).then_some(&tps[..]);
        let found = block_on("pk_admin_list_group_offsets", a.list_consumer_group_offsets(group, arg))??;
        offsets_out(found.into_iter().map(|(tp, o)| (tp, o, -1, -1)).collect(), out_offsets)
    })
}

/// The lag of group `group` (NUL-terminated, borrowed) on every partition it committed:
/// committed offset, high watermark and their difference. The caller frees `*out_offsets` with
/// pk_partition_offsets_free().
#[no_mangle]
pub extern "C" fn pk_admin_group_lag(
    admin: *mut crate::admin::pk_admin,
    group: *const c_char,
    out_offsets: *mut *mut pk_partition_offsets,
) -> *mut pk_error {
    guard(|| {
        let a = live_admin(admin)?;
        let group = c_str(group, "group")?;
        check_out(out_offsets, "out_offsets")?;
        let lag: Vec<PartitionLag> = block_on("pk_admin_group_lag", a.consumer_group_lag(group))??;
        offsets_out(lag.into_iter().map(|l| (l.partition, l.committed, l.high_watermark, l.lag)).collect(), out_offsets)
    })
}

/// Frees offsets. `offsets` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_partition_offsets_free(offsets: *mut pk_partition_offsets) {
    guard_void(|| {
        if !offsets.is_null() {
            // SAFETY: from this library, freed once; private_data is a Box<OffsetsData>.
            let l = unsafe { Box::from_raw(offsets) };
            drop(unsafe { Box::from_raw(l.private_data.cast::<OffsetsData>()) });
        }
    })
}
