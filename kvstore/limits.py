"""Every DynamoDB service limit kvstore enforces, as a named constant."""

MAX_ITEM_SIZE = 400 * 1024                 # bytes, names + values (types.item_size)
MAX_HASH_KEY_SIZE = 2048                   # bytes of a partition-key value
MAX_RANGE_KEY_SIZE = 1024                  # bytes of a sort-key value
MAX_ATTRIBUTE_NAME_SIZE = 65535            # bytes of any attribute name
MAX_KEY_ATTRIBUTE_NAME_SIZE = 255          # key, projected and TTL attribute names
MAX_NESTING_DEPTH = 32                     # levels of M/L, counting the item itself
MAX_NUMBER_DIGITS = 38                     # significant digits of an N value
MAX_NUMBER_EXPONENT = 125                  # adjusted exponent of the largest magnitude
MIN_NUMBER_EXPONENT = -130                 # adjusted exponent of the smallest magnitude

MAX_EXPRESSION_SIZE = 4096                 # bytes of one expression string
MAX_EXPRESSION_OPERATORS = 300
MAX_IN_OPERANDS = 100                      # values in an IN list (AWS docs: "up to 100 values"); 101 are refused
MAX_DOCUMENT_PATH_DEPTH = 32
MAX_PLACEHOLDER_SIZE = 255

MAX_BATCH_WRITE_REQUESTS = 25
MAX_BATCH_GET_KEYS = 100
MAX_BATCH_RESPONSE_SIZE = 16 * 1024 * 1024
MAX_TRANSACT_ITEMS = 100
MAX_TRANSACT_REQUEST_SIZE = 4 * 1024 * 1024
TRANSACTION_TOKEN_TTL_SECONDS = 600

ON_DEMAND_TABLE_READ_UNITS = 40_000       # per-table account quota of an on-demand table (request units/s)
ON_DEMAND_TABLE_WRITE_UNITS = 40_000
PARTITION_READ_UNITS = 3_000               # one partition's throughput: the most one partition-key value gets
PARTITION_WRITE_UNITS = 1_000
BURST_SECONDS = 300                        # unused provisioned capacity DynamoDB retains for bursts

MAX_PAGE_SIZE = 1024 * 1024                # bytes read by one Query/Scan page
MAX_TOTAL_SEGMENTS = 1_000_000
MAX_LIST_TABLES_LIMIT = 100

MAX_GSIS = 20
MAX_LSIS = 5
MAX_PROJECTED_ATTRIBUTES = 100             # NonKeyAttributes over all indexes of a table
MAX_ITEM_COLLECTION_SIZE = 10 * 1024 ** 3  # bytes per partition-key value on a table with LSIs

MIN_TABLE_NAME = 3
MAX_TABLE_NAME = 255
TABLE_NAME_PATTERN = r"[a-zA-Z0-9_.-]+"

MAX_TAGS = 50
CONCURRENT_RESTORES = 50                   # restores in progress in an account (any type; PITR and from backups)
MAX_HTTP_BODY = 16 * 1024 * 1024

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"      # never 000000000000: tests use that id as "another account"
