"""String content the generator spoils that is valid (issue 14, item 2): NUL and other control characters.

Reference 1.4: "NUL and any other code point are allowed inside values and
attribute names".  They are stored and returned as sent, on every face, in a
key, a value, a name, and through an ExpressionAttributeNames placeholder.
"""

CONTROL = "a\x00b\x01\x7f\t\n"


def test_nul_and_control_characters_round_trip(dynamodb):
    client = dynamodb.meta.client
    client.create_table(TableName="ttt", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    client.put_item(TableName="ttt", Item={"pk": CONTROL, CONTROL: CONTROL, "m": {CONTROL: [CONTROL]}})
    client.update_item(TableName="ttt", Key={"pk": CONTROL}, UpdateExpression="SET #n = :v",
                       ExpressionAttributeNames={"#n": "n\x00"}, ExpressionAttributeValues={":v": "\x00"})
    item = client.get_item(TableName="ttt", Key={"pk": CONTROL})["Item"]
    assert item == {"pk": CONTROL, CONTROL: CONTROL, "m": {CONTROL: [CONTROL]}, "n\x00": "\x00"}
    assert client.query(TableName="ttt", KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": CONTROL})["Count"] == 1
