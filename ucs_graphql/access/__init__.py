"""Access control: the UCS task names, users, roles and tenant binding."""
