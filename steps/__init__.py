"""The step library, by subject. Every user step reads `the target user` (the configured or leased
agent) or `the user "<SIP URI or GUID>"`."""

NAMED = 'the user "{user}"'
