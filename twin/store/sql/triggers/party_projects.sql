CREATE OR REPLACE TRIGGER party_projects_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.party_projects FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('party_projects');
