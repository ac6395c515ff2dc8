-- The IVR prompt language of each provider's callers (issue 4).
ALTER TABLE providers ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
