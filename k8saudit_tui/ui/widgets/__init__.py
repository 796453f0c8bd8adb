"""The explorer's widgets: they post messages up to the hub screen and never import each other."""
