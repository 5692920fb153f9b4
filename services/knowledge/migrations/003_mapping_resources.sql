-- Members map their own work (issue 18): a project remembers who mapped it here, so that a
-- member sees and acts on their own projects and the overlaps touching them; '' for a
-- project mapped on another node (its project_mapped names nobody). contact is how other
-- CoPs whose work overlaps may reach the team behind it, as the person mapping gave it; it
-- stays on this node (events carry no contact details) and goes when its person is erased.
ALTER TABLE projects ADD COLUMN mapped_by text NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN contact text NOT NULL DEFAULT '';
CREATE INDEX projects_mapped_by ON projects (mapped_by) WHERE mapped_by <> '';

-- A CoP's library: assets are links or uploaded files, seen as far as their visibility
-- says (cop: the CoP's people, its hub and national; region: anyone placed in the region;
-- national: every signed-in person). Assets shared before this were seen by everyone.
ALTER TABLE assets ADD COLUMN visibility text NOT NULL DEFAULT 'national';
ALTER TABLE assets ADD COLUMN shared_by text NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN file_name text NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN content_type text NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN size bigint NOT NULL DEFAULT 0;
CREATE INDEX assets_cop ON assets (cop_id, created_at DESC);

-- An uploaded file's bytes, apart from the listing's rows so that listing never reads them.
CREATE TABLE asset_files (
	asset_id text PRIMARY KEY REFERENCES assets(id),
	content  bytea NOT NULL
);
