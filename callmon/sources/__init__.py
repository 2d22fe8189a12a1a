"""Where events and rows come from: AMI (framing, the pyst2 adapter, the replay server) and Asterisk's files."""
