"""An orders service for a small shop whose data layer is kvstore, and later DynamoDB.

    python -m examples.orders                  # serve on 127.0.0.1:8080, data in ./orders-data
    python -m examples.orders create-tables    # create the table wherever the config points

See README.md in this folder for the key design and the move to DynamoDB.
"""
