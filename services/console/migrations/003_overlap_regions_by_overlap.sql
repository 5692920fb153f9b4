-- An overlap's rows are replaced by its id on every overlap event; without this index that
-- is a scan of every open overlap in the network per event.
CREATE INDEX overlap_regions_overlap ON overlap_regions (overlap_id);
