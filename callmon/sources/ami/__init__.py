"""Everything that speaks the Asterisk Manager Interface: framing (pure), the pyst2 adapter (the only
module that imports pyst2), the capture replay and the AMI replay server."""
