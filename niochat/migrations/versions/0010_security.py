"""Security: the platform operator's permission for a tenant's SGP on a private network (an on-premises SGP;
set with `niochat tenant sgp-private-network`, never by the tenant's own admin), and the warehouse copy's
CPF/CNPJ masking as SQL functions (the same rules as niochat.masking, for documents written in any grouping).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

# niochat.masking's patterns, frozen here (tests/unit/test_masking.py checks they are still the same): a run of digits
# joined by single separators, and a run holding at least 11 digits.
RUN = r"[0-9]+(?:(?: ?[./-] ?| )[0-9]+)*"
MAYBE = r"[0-9](?:(?: ?[./-] ?| )?[0-9]){10}"

# The rules of niochat.masking (read its docstring), step by step; tests/unit/test_masking.py checks both agree.
MASKING = r"""
    create function niochat_valid_document(d text) returns boolean
    language plpgsql immutable strict parallel safe as $$
    declare
        n int := length(d);
        total int;
        remainder int;
        w int[] := array[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    begin
        if d !~ '^[0-9]+$' or d ~ '^(.)\1*$' then
            return false;
        end if;
        if n = 11 then
            total := 0;
            for i in 1..9 loop total := total + substr(d, i, 1)::int * (11 - i); end loop;
            if mod(mod(total * 10, 11), 10) <> substr(d, 10, 1)::int then
                return false;
            end if;
            total := 0;
            for i in 1..10 loop total := total + substr(d, i, 1)::int * (12 - i); end loop;
            return mod(mod(total * 10, 11), 10) = substr(d, 11, 1)::int;
        elsif n = 14 then
            total := 0;
            for i in 1..12 loop total := total + substr(d, i, 1)::int * w[i + 1]; end loop;
            remainder := mod(total, 11);
            if (case when remainder < 2 then 0 else 11 - remainder end) <> substr(d, 13, 1)::int then
                return false;
            end if;
            total := 0;
            for i in 1..13 loop total := total + substr(d, i, 1)::int * w[i]; end loop;
            remainder := mod(total, 11);
            return (case when remainder < 2 then 0 else 11 - remainder end) = substr(d, 14, 1)::int;
        end if;
        return false;
    end $$;

    create function niochat_mask_document(d text) returns text
    language sql immutable strict parallel safe as $$
        select case length(d)
            when 11 then '***.' || substr(d, 4, 3) || '.' || substr(d, 7, 3) || '-**'
            when 14 then '**.' || substr(d, 3, 3) || '.' || substr(d, 6, 3) || '/****-**'
            else repeat('*', length(d)) end
    $$;

    -- One run of digits joined by separators (niochat.masking._mask_run).
    create function niochat_mask_run(run text) returns text
    language plpgsql immutable strict parallel safe as $$
    declare
        groups text[] := regexp_split_to_array(run, '[^0-9]+');
        seps text[];
        n int;
        total int := 0;
        cnt int;
        first_group int;
        token_starts int[] := '{}';
        token_ends int[] := '{}';
        token_digits int[] := '{}';
        starts int[] := '{}';
        ends int[] := '{}';
        merged_starts int[] := '{}';
        merged_ends int[] := '{}';
        span record;
        out_text text := '';
        pos int := 1;
    begin
        n := array_length(groups, 1);
        select coalesce(array_agg(m[1] order by ord), '{}') into seps
            from regexp_matches(run, '([^0-9]+)', 'g') with ordinality as found(m, ord);
        for i in 1..n loop total := total + length(groups[i]); end loop;
        first_group := 1;
        for i in 1..n loop  -- stretches of groups joined without spaces
            if i = n or strpos(seps[i], ' ') > 0 then
                cnt := 0;
                for k in first_group..i loop cnt := cnt + length(groups[k]); end loop;
                token_starts := token_starts || first_group;
                token_ends := token_ends || i;
                token_digits := token_digits || cnt;
                first_group := i + 1;
            end if;
        end loop;
        if total in (11, 14) and not (12 = any(token_digits) or 13 = any(token_digits)) then
            return niochat_mask_document(array_to_string(groups, ''));
        end if;
        if n >= 3 and total = 13 and groups[1] = '55' and length(groups[2]) = 2
                and left(array_to_string(groups[3 : n], ''), 1) = '9' then
            return run;  -- +55 11 98765-4321: a phone
        end if;
        for t in 1..array_length(token_starts, 1) loop  -- a stretch without spaces of 11 or 14 digits
            if token_digits[t] in (11, 14) then
                starts := starts || token_starts[t];
                ends := ends || token_ends[t];
            end if;
        end loop;
        for i in 1..n loop  -- any stretch with valid check digits
            cnt := 0;
            for j in i..n loop
                cnt := cnt + length(groups[j]);
                exit when cnt > 14;
                if cnt in (11, 14) and niochat_valid_document(array_to_string(groups[i : j], '')) then
                    starts := starts || i;
                    ends := ends || j;
                end if;
            end loop;
        end loop;
        if coalesce(array_length(starts, 1), 0) = 0 then
            return run;
        end if;
        for span in select s, e from unnest(starts, ends) as spans(s, e) order by s, e loop
            if array_length(merged_starts, 1) > 0 and span.s <= merged_ends[array_length(merged_ends, 1)] then
                merged_ends[array_length(merged_ends, 1)] := greatest(merged_ends[array_length(merged_ends, 1)],
                                                                      span.e);
            else
                merged_starts := merged_starts || span.s;
                merged_ends := merged_ends || span.e;
            end if;
        end loop;
        for k in 1..array_length(merged_starts, 1) loop
            for i in pos..merged_starts[k] - 1 loop
                out_text := out_text || groups[i] || seps[i];
            end loop;
            out_text := out_text
                || niochat_mask_document(array_to_string(groups[merged_starts[k] : merged_ends[k]], ''));
            if merged_ends[k] < n then
                out_text := out_text || seps[merged_ends[k]];
            end if;
            pos := merged_ends[k] + 1;
        end loop;
        for i in pos..n loop
            out_text := out_text || groups[i];
            if i < n then
                out_text := out_text || seps[i];
            end if;
        end loop;
        return out_text;
    end $$;

    -- Every CPF/CNPJ in a text masked (niochat.masking.mask_documents_in).
    create function niochat_mask_documents(input text) returns text
    language plpgsql immutable strict parallel safe as $$
    declare
        runs text[];
        gaps text[];
        result text;
    begin
        if input !~ '@MAYBE@' then
            return input;
        end if;
        select coalesce(array_agg(m[1] order by ord), '{}') into runs
            from regexp_matches(input, '(@RUN@)', 'g') with ordinality as found(m, ord);
        gaps := regexp_split_to_array(input, '@RUN@');
        result := gaps[1];
        for i in 1..coalesce(array_length(runs, 1), 0) loop
            result := result || niochat_mask_run(runs[i]) || gaps[i + 1];
        end loop;
        return result;
    end $$;
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table tenants add column sgp_private_network boolean not null default false;
    """)
    # Array slices are written `a[i : j]`: op.execute reads `:name` as a bind parameter.
    op.execute(MASKING.replace("@MAYBE@", MAYBE).replace("@RUN@", RUN))


def downgrade() -> None:
    op.execute("""
        drop function niochat_mask_documents(text);
        drop function niochat_mask_run(text);
        drop function niochat_mask_document(text);
        drop function niochat_valid_document(text);
        alter table tenants drop column sgp_private_network;
    """)
