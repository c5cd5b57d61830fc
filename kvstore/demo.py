"""``kvstore demo``: create a table, write, query and print, on an embedded database.

Runs against ``./kvstore-demo`` (or the directory given) with durable writes,
so running it twice shows the data survived the first run.
"""

import argparse
import time
from decimal import Decimal

import kvstore
from kvstore.conditions import Attr, Key


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kvstore demo", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="kvstore-demo", help="database directory (default: ./kvstore-demo)")
    args = parser.parse_args(argv)
    with kvstore.open(args.path) as db:
        print(f"kvstore {kvstore.__version__} ({kvstore.implementation} core), database: {args.path}")
        if "orders" not in [t.name for t in db.tables.all()]:
            db.create_table(
                TableName="orders",
                KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"},
                           {"AttributeName": "order_id", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "customer", "AttributeType": "S"},
                                      {"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            print("created table 'orders'")
        table = db.Table("orders")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S") + f".{time.time_ns() // 1000 % 1_000_000:06d}"
        with table.batch_writer() as batch:
            for i, (item, price) in enumerate([("tea", "4.50"), ("scones", "3.25"), ("jam", "6.00")]):
                batch.put_item(Item={"customer": "ada", "order_id": f"{stamp}#{i}", "item": item,
                                     "price": Decimal(price), "status": "NEW"})
        table.update_item(Key={"customer": "ada", "order_id": f"{stamp}#0"},
                          UpdateExpression="SET #s = :shipped", ConditionExpression=Attr("status").eq("NEW"),
                          ExpressionAttributeNames={"#s": "status"},
                          ExpressionAttributeValues={":shipped": "SHIPPED"})
        page = table.query(KeyConditionExpression=Key("customer").eq("ada"), ScanIndexForward=False, Limit=6)
        print(f"ada has {table.item_count} orders in total; the latest {page['Count']}:")
        for item in page["Items"]:
            print(f"  {item['order_id']}  {item['item']:<7} {item['price']:>6}  {item['status']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
