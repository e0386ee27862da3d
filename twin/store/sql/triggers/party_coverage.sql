CREATE OR REPLACE TRIGGER party_coverage_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.party_coverage FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('party_coverage');
