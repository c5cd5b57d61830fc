"""The storage engine: catalog of tables -> partitions -> packed items, indexes, durability."""
