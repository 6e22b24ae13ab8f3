"""The step library, by subject. Every user step reads `the target user` (the configured or leased
agent) or `the user "<SIP URI or GUID>"`: one pattern, `USER`, for both (its `user` group is None
for the target user). Steps speak to `world` and its facets (`world.users`, `world.tasks`, ...) only."""

USER = r'(?:the target user|the user "(?P<user>[^"]+)")'
