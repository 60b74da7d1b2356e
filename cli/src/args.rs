//! The command line: every command, its options and its examples (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "polykafka",
    version,
    about = "Produce, consume, inspect and measure Kafka from a terminal",
    after_help = "\
Connection settings, weakest first: KAFKA_BOOTSTRAP, the profile (--profile, $POLYKAFKA_PROFILE or
the file's `default`) from $POLYKAFKA_CONFIG or ~/.config/polykafka/config.toml, -F file, -X, -b.
Exit codes: 0 ok, 1 error (Kafka, network, I/O), 2 bad usage.

Examples:
  polykafka -b 127.0.0.1:9092 topics list
  echo 'k1:hello' | polykafka produce events -K:
  polykafka consume events -o beginning -e -f '%t [%p] @%o: %k=%s\\n'
  polykafka lag my-group --watch
  polykafka --profile prod -X sasl.password=... cluster -o json"
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach the cluster (global: allowed before or after the command).
#[derive(Args, Debug, Clone, Default)]
pub struct Connection {
    /// Bootstrap brokers, host:port[,host:port...] (bootstrap.servers)
    #[arg(short = 'b', long = "brokers", global = true, value_name = "HOSTS")]
    pub brokers: Option<String>,
    /// A client property (the core's names: sasl.mechanism, security.protocol, acks, ...); repeatable
    #[arg(short = 'X', value_name = "KEY=VALUE", global = true)]
    pub properties: Vec<String>,
    /// A Java-style client.properties file
    #[arg(short = 'F', long = "config-file", value_name = "FILE", global = true)]
    pub properties_file: Option<PathBuf>,
    /// A named profile of the config file
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write records from stdin, files or a generator to a topic
    #[command(after_help = "\
Examples:
  polykafka produce events < lines.txt             one record per line
  polykafka produce events -K: -H source=cli       'key:value' lines, with a header
  polykafka produce events -D '\\0' data.bin        records separated by NUL bytes
  polykafka produce events --count 100000 --size 200 --rate 5000   generated load")]
    Produce(ProduceArgs),
    /// Read records of topics, from a group or from chosen partitions and offsets
    #[command(after_help = "\
Examples:
  polykafka consume events -o beginning -e          everything, then exit
  polykafka consume events -o -10 -c 10             the last 10 records of each partition
  polykafka consume events -o @1733400000000        from a time (ms since the epoch)
  polykafka consume events -g readers               as a member of group 'readers'
  polykafka consume events -e -f '%t [%p] @%o: %k=%s\\n'
  polykafka consume events -e -J --value-format avro --registry http://127.0.0.1:8081

Format tokens (-f, as kcat): %t topic, %p partition, %o offset, %k key, %s value, %K key length,
%S value length, %T timestamp (ms), %h headers (k=v,...), %%; escapes \\n \\r \\t \\\\ \\xHH.")]
    Consume(ConsumeArgs),
    /// List, describe, create, delete and alter topics
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Show and change topic and broker configs
    #[command(subcommand)]
    Configs(ConfigsCommand),
    /// List, describe and delete consumer groups
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Move a group's committed offsets (as kafka-consumer-groups.sh --reset-offsets)
    #[command(subcommand)]
    Offsets(OffsetsCommand),
    /// The lag of a group per partition, with totals; --watch keeps it updated
    #[command(after_help = "\
Examples:
  polykafka lag readers
  polykafka lag readers --watch --interval 1
  polykafka lag readers -o json")]
    Lag(LagArgs),
    /// Brokers, controller, and the API versions the brokers offer
    #[command(after_help = "Examples:\n  polykafka cluster\n  polykafka cluster --api-versions\n  polykafka cluster -o json")]
    Cluster(ClusterArgs),
    /// Measure produce or consume throughput (prints what Kafka's perf-test tools print)
    #[command(subcommand)]
    Perf(PerfCommand),
    /// Dead-letter topics: write their records back
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Print the effective connection settings (secrets hidden)
    #[command(after_help = "Examples:\n  polykafka --profile prod settings\n  polykafka settings -o json")]
    Settings(OutputArgs),
    /// Print a shell completion script
    #[command(after_help = "\
Examples:
  polykafka completions bash > ~/.local/share/bash-completion/completions/polykafka
  polykafka completions zsh > ~/.zfunc/_polykafka
  polykafka completions fish > ~/.config/fish/completions/polykafka.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// aligned tables for people
    #[default]
    Table,
    /// JSON for scripts
    Json,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct OutputArgs {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Args, Debug)]
pub struct ProduceArgs {
    pub topic: String,
    /// Files to read (default: stdin)
    pub files: Vec<PathBuf>,
    /// Key delimiter: each record is KEY<delim>VALUE (as kcat -K)
    #[arg(short = 'K', long = "key-delimiter", value_name = "DELIM")]
    pub key_delimiter: Option<String>,
    /// Record delimiter (default: newline; escapes \n \t \0 \xHH)
    #[arg(short = 'D', long = "delimiter", value_name = "DELIM", default_value = "\\n")]
    pub delimiter: String,
    /// A header for every record; repeatable
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Write to this partition (default: the partitioner's choice)
    #[arg(short = 'p', long)]
    pub partition: Option<i32>,
    /// Compression codec (compression.type)
    #[arg(short = 'z', long, value_enum)]
    pub compression: Option<Compression>,
    /// Acknowledgements: all, 1 or 0 (acks)
    #[arg(long, value_parser = ["all", "-1", "1", "0"])]
    pub acks: Option<String>,
    /// Idempotence (enable.idempotence)
    #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub idempotence: Option<bool>,
    /// Generate this many records instead of reading input
    #[arg(long)]
    pub count: Option<u64>,
    /// Size in bytes of each generated value (with --count)
    #[arg(long, default_value_t = 100, requires = "count")]
    pub size: usize,
    /// At most this many records per second
    #[arg(long)]
    pub rate: Option<f64>,
    /// No progress bar
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print a JSON summary (records, bytes, errors) on stdout at the end
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<OutputFormat>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// UTF-8 text (invalid UTF-8 is an error naming the record)
    Text,
    /// base64 of the bytes
    Base64,
    /// the bytes as they are (format strings and plain output only)
    Raw,
    /// decoded through the schema registry (Avro, JSON Schema or Protobuf, from the schema id)
    Avro,
    Json,
    Protobuf,
    /// decoded when the bytes start with the registry's magic byte and a registry is known, else
    /// text when they read as text, else base64 (JSON) or the bytes
    Auto,
}

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    #[arg(required = true)]
    pub topics: Vec<String>,
    /// Consume as a member of this group (subscribe); without it, partitions are assigned
    #[arg(short = 'g', long)]
    pub group: Option<String>,
    /// Only these partitions (without a group); repeatable
    #[arg(short = 'p', long = "partition", conflicts_with = "group")]
    pub partitions: Vec<i32>,
    /// Start: beginning, end, stored, N (offset), -N (N before the end), @MS (a time)
    #[arg(short = 'o', long = "offset", allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Stop after this many records
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Exit when every partition reached its end
    #[arg(short = 'e', long = "exit")]
    pub exit_at_end: bool,
    /// kcat-style format string for each record
    #[arg(short = 'f', long, conflicts_with = "json")]
    pub format: Option<String>,
    /// One JSON object per record
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Print KEY<delim>VALUE (as kcat -K)
    #[arg(short = 'K', long = "key-delimiter", value_name = "DELIM", conflicts_with_all = ["format", "json"])]
    pub key_delimiter: Option<String>,
    /// Read only committed records of transactions (isolation.level=read_committed)
    #[arg(long)]
    pub read_committed: bool,
    /// How to show values
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub value_format: DataFormat,
    /// How to show keys
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub key_format: DataFormat,
    /// Schema registry URL (default: $SCHEMA_REGISTRY_URL or the profile's schema.registry.url)
    #[arg(long)]
    pub registry: Option<String>,
    /// Stop after this many seconds without a record (default: never)
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,
}

#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// Topics with their partition counts
    #[command(after_help = "Examples:\n  polykafka topics list\n  polykafka topics list --internal -o json")]
    List {
        /// Include internal topics (__consumer_offsets, ...)
        #[arg(long)]
        internal: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Partitions, leaders, replicas, in-sync replicas and offsets
    #[command(after_help = "Examples:\n  polykafka topics describe events\n  polykafka topics describe events orders -o json")]
    Describe {
        #[arg(required = true)]
        topics: Vec<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Create topics
    #[command(after_help = "Examples:\n  polykafka topics create events -p 6 -r 3\n  polykafka topics create logs --config cleanup.policy=compact")]
    Create {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Partitions (default: the broker's num.partitions)
        #[arg(short = 'p', long)]
        partitions: Option<i32>,
        /// Replication factor (default: the broker's default.replication.factor)
        #[arg(short = 'r', long)]
        replication_factor: Option<i16>,
        /// A topic config; repeatable
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Exit 0 when a topic already exists
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Delete topics
    #[command(after_help = "Examples:\n  polykafka topics delete events\n  polykafka topics delete a b c")]
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
    },
    /// Add partitions or change configs of a topic
    #[command(after_help = "Examples:\n  polykafka topics alter events --partitions 12\n  polykafka topics alter events --config retention.ms=3600000 --delete-config cleanup.policy")]
    Alter {
        topic: String,
        /// The new partition count (only more)
        #[arg(short = 'p', long)]
        partitions: Option<i32>,
        /// Set a config; repeatable
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Return a config to its default; repeatable
        #[arg(long = "delete-config", value_name = "KEY")]
        delete_configs: Vec<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    Topic,
    Broker,
}

#[derive(Subcommand, Debug)]
pub enum ConfigsCommand {
    /// A topic's or broker's configs (all, or the keys named)
    #[command(after_help = "Examples:\n  polykafka configs get topic events\n  polykafka configs get topic events retention.ms\n  polykafka configs get broker 1 --all -o json")]
    Get {
        #[arg(value_enum)]
        resource: ResourceType,
        /// Topic name or broker id
        name: String,
        /// Only these keys
        keys: Vec<String>,
        /// Include the defaults (default: only values set on the resource, when no key is named)
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Set or delete configs of a topic or broker
    #[command(after_help = "Examples:\n  polykafka configs set topic events retention.ms=3600000\n  polykafka configs set topic events --delete retention.ms")]
    Set {
        #[arg(value_enum)]
        resource: ResourceType,
        name: String,
        #[arg(value_name = "KEY=VALUE")]
        values: Vec<String>,
        /// Return a key to its default; repeatable
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GroupsCommand {
    /// Every consumer group with its state
    #[command(after_help = "Examples:\n  polykafka groups list\n  polykafka groups list -o json")]
    List {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Members, assignments, committed offsets and lag (as kafka-consumer-groups.sh --describe)
    #[command(after_help = "Examples:\n  polykafka groups describe readers\n  polykafka groups describe readers -o json")]
    Describe {
        #[arg(required = true)]
        groups: Vec<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Delete groups (they must have no members)
    #[command(after_help = "Examples:\n  polykafka groups delete readers")]
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// Write every record of a dead-letter topic (as of now) back to the topic its
    /// original-topic header names, or to --to; without the dead-letter headers
    #[command(after_help = "\
Examples:
  polykafka dlq replay --topic orders-dlq                 back to each record's original topic
  polykafka dlq replay --topic orders-dlq --to orders-v2  all to one topic
  polykafka dlq replay --topic orders-dlq -o json")]
    Replay {
        /// The dead-letter topic to read
        #[arg(long, short = 't')]
        topic: String,
        /// Write every record to this topic instead of its original-topic
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum OffsetsCommand {
    /// Plan or apply new committed offsets; a dry run unless --execute (as kafka-consumer-groups.sh)
    #[command(after_help = "\
Examples:
  polykafka offsets reset readers --topic events --to-earliest            shows the plan
  polykafka offsets reset readers --topic events --to-earliest --execute  applies it
  polykafka offsets reset readers --all-topics --shift-by -100 --execute
  polykafka offsets reset readers --topic events:0,1 --to-datetime 2026-12-01T00:00:00Z --execute")]
    Reset(ResetArgs),
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["to_earliest", "to_latest", "to_offset", "to_timestamp", "to_datetime", "shift_by"]))]
#[command(group = clap::ArgGroup::new("scope").required(true).args(["topics", "all_topics"]))]
pub struct ResetArgs {
    pub group: String,
    /// TOPIC or TOPIC:P,P,...; repeatable
    #[arg(long = "topic", value_name = "TOPIC[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Every topic the group committed offsets for
    #[arg(long)]
    pub all_topics: bool,
    #[arg(long)]
    pub to_earliest: bool,
    #[arg(long)]
    pub to_latest: bool,
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// Milliseconds since the epoch
    #[arg(long, value_name = "MS")]
    pub to_timestamp: Option<i64>,
    /// YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM]
    #[arg(long, value_name = "DATETIME")]
    pub to_datetime: Option<String>,
    /// Move by N (negative: back), kept within the partition's offsets
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Apply the plan
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Only show the plan (the default)
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct LagArgs {
    pub group: String,
    /// Redraw the table every --interval seconds until interrupted
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// Also list every API: the versions each broker offers, polykafka's range, and PICKED, the
    /// highest both support (what the engine sends, except a few APIs it caps lower: Produce,
    /// OffsetFetch and the transaction APIs)
    #[arg(long)]
    pub api_versions: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Subcommand, Debug)]
pub enum PerfCommand {
    /// As kafka-producer-perf-test.sh
    #[command(after_help = "Examples:\n  polykafka perf produce --topic bench --num-records 1000000 --record-size 100 --throughput -1\n  polykafka perf produce --topic bench --num-records 100000 --record-size 1000 --throughput 10000 --producer-props acks=1 linger.ms=5")]
    Produce(PerfProduceArgs),
    /// As kafka-consumer-perf-test.sh
    #[command(after_help = "Examples:\n  polykafka perf consume --topic bench --messages 1000000\n  polykafka perf consume --topic bench --messages 100000 --group perf --hide-header")]
    Consume(PerfConsumeArgs),
}

#[derive(Args, Debug)]
pub struct PerfProduceArgs {
    #[arg(long)]
    pub topic: String,
    #[arg(long)]
    pub num_records: u64,
    #[arg(long, required_unless_present = "payload_file")]
    pub record_size: Option<usize>,
    /// Values are lines of this file, picked at random (as the Java tool)
    #[arg(long)]
    pub payload_file: Option<PathBuf>,
    /// Records per second at most; -1 for no limit
    #[arg(long, allow_hyphen_values = true)]
    pub throughput: f64,
    /// Producer properties KEY=VALUE
    #[arg(long, num_args = 1.., visible_alias = "command-property")]
    pub producer_props: Vec<String>,
    /// A producer properties file
    #[arg(long = "producer.config", visible_alias = "command-config")]
    pub producer_config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PerfConsumeArgs {
    #[arg(long)]
    pub topic: String,
    /// Records to read (Kafka 4's --num-records)
    #[arg(long, visible_alias = "num-records")]
    pub messages: u64,
    /// Consumer group (default: perf-consumer-<random>)
    #[arg(long)]
    pub group: Option<String>,
    /// Give up after this many ms without a record
    #[arg(long, default_value_t = 10_000)]
    pub timeout: u64,
    /// No header line
    #[arg(long)]
    pub hide_header: bool,
    /// Start from the latest offset (default: earliest)
    #[arg(long)]
    pub from_latest: bool,
    /// Consumer properties file
    #[arg(long = "consumer.config", visible_alias = "command-config")]
    pub consumer_config: Option<PathBuf>,
    /// Consumer properties KEY=VALUE
    #[arg(long, num_args = 1..)]
    pub command_property: Vec<String>,
    /// Show a line per --reporting-interval
    #[arg(long)]
    pub show_detailed_stats: bool,
    #[arg(long, default_value_t = 5000)]
    pub reporting_interval: u64,
}
