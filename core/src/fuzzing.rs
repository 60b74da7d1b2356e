//! Entry points for the fuzz targets (`fuzz/`) and their smoke test: the parsers of untrusted
//! input that are not public otherwise. Not an API: hidden from the docs, may change any time.

use bytes::Bytes;
use kafka_protocol::messages::*;

use crate::error::{Error, Result};
use crate::net::connection::decode_response;
use crate::net::sasl::{verify_server_final, ScramClient, ScramHash};

macro_rules! response_apis {
    ($($req:ident),* $(,)?) => {
        /// The API keys whose responses the core decodes.
        pub const RESPONSE_API_KEYS: &[i16] = &[$(<$req as kafka_protocol::protocol::Request>::KEY),*];

        /// Decodes a response frame (header included, as the connection receives it) of API
        /// `api_key` at `version`, as the connection does once a request is answered.
        pub fn decode_response_frame(api_key: i16, version: i16, frame: Bytes) -> Result<()> {
            $(
                if api_key == <$req as kafka_protocol::protocol::Request>::KEY {
                    return decode_response::<$req>(frame, version).map(drop);
                }
            )*
            Err(Error::protocol(format!("api key {api_key} is not one the core decodes")))
        }
    };
}

response_apis!(
    ProduceRequest, FetchRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetFetchRequest,
    FindCoordinatorRequest, JoinGroupRequest, HeartbeatRequest, LeaveGroupRequest, SyncGroupRequest,
    DescribeGroupsRequest, ListGroupsRequest, SaslHandshakeRequest, ApiVersionsRequest, CreateTopicsRequest,
    DeleteTopicsRequest, DeleteRecordsRequest, InitProducerIdRequest, AddPartitionsToTxnRequest,
    AddOffsetsToTxnRequest, EndTxnRequest, TxnOffsetCommitRequest, DescribeConfigsRequest,
    SaslAuthenticateRequest, CreatePartitionsRequest, DeleteGroupsRequest, IncrementalAlterConfigsRequest,
    DescribeClusterRequest, ConsumerGroupHeartbeatRequest, ConsumerGroupDescribeRequest,
);

/// The client nonce the SCRAM entry point uses (the real client draws 24 random bytes).
pub const SCRAM_CLIENT_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";

/// A SCRAM exchange (SHA-512 when `sha512`, else SHA-256) with user "user" and password "pencil"
/// against the given server-first and server-final messages.
pub fn scram_exchange(sha512: bool, server_first: &[u8], server_final: &[u8]) -> Result<()> {
    fn run<D: ScramHash>(server_first: &[u8], server_final: &[u8]) -> Result<()> {
        let client = ScramClient::<D>::new("user", SCRAM_CLIENT_NONCE);
        let (_, expected) = client.handle_server_first(server_first, "pencil")?;
        verify_server_final(server_final, &expected)
    }
    if sha512 {
        run::<sha2::Sha512>(server_first, server_final)
    } else {
        run::<sha2::Sha256>(server_first, server_final)
    }
}
