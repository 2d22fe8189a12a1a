"""``callmon ami-server``: registered by callmon.ami.server (see issue 3)."""
