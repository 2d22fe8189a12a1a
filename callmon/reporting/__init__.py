"""Reports: the report model, its writers (csv, xlsx, html) and the renderers of call and callback lists."""
