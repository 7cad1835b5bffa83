"""`niochat eval`: the scenario suite, run through the real webhook -> worker -> WhatsApp path against the SGP sandbox.

Each scenario is one YAML file (tests/scenarios/*.yaml), run on a fresh tenant (teams financeiro, suporte and
comercial, a Uazapi and an Evolution channel on the WhatsApp sandbox, SGP config on a freshly reset SGP sandbox,
the model config for the openai brain); turn by turn the runner waits until the worker has answered and every
reply is sent, then checks the WhatsApp sandbox's messages and the tool_calls and conversations tables:

    name: second-copy-after-cpf           # defaults to the file name
    description: Maria asks for the second copy, then types her CPF
    brains: [rules, openai]               # the brains that claim it (default: both)
    customer: {phone: "5511912340001", name: Maria}   # write from the phone registered in SGP
                                          # optional: provider: evolution (default uazapi), lid: true (@lid sender),
                                          # lid_only: true (known by @lid alone, WhatsApp withholds the number)
    setup:                                # all optional
      sgp_faults: [{count: 20, mode: error}]   # POST /sandbox/faults bodies of the SGP sandbox
      sgp_occurrence_types: {sem_conexao: 1}   # the tenant's sgp.occurrence_types (ticket kind -> SGP type id)
      model_mode: {mode: down}              # or {mode: slow, delay: 6}: the fake model's POST /fake/mode
      business_hours: closed                # open (default: always open), closed, or a week {"mon": [["08:00", ...
      recheck_seconds: 1                    # the tenant's wait before a connection re-check (default 120 s)
    turns:
      - say: oi quero a 2 via               # or a list of texts, sent one right after the other (a burst)
        expect:                             # all optional
          replies_contain: [CPF]            # each in what the bot sent during the turn (case-insensitive)
          replies_not_contain: [fatura]
          tools: ["identify_customer:found", second_copy]   # tool calls recorded during the turn ("tool[:outcome]")
          tools_not_called: ["open_ticket:opened"]
          min_replies: 1
          max_replies: 4
          within_seconds: 8                 # the whole turn answered within this time
          wait_for_reply: "conexão voltou"  # wait until a reply of the turn holds this text (a re-check the
                                            # worker sends after recheck_seconds) before checking
    final:                                  # all optional
      status: bot                           # bot | waiting | open | closed
      team: financeiro                      # the handoff queue (null: the general queue)
      handoff_reason: identity_unverified
      contract: "10269"                     # the SGP contract the conversation is bound to
      resolved_by_bot: true                 # true: never handed to humans; false: it was
      tools_not_called: [trust_unlock]      # in the whole conversation ("tool[:outcome]")
      replies_not_contain: ["{pix:64009}"]  # never sent in the whole conversation
      sgp_tickets: [{origem: chamado, ocorrenciatipo: 101}]   # exactly the tickets the SGP sandbox holds, in
                                          # order, each with these fields (`conteudo`: contained, any case)

Facts in expected texts are placeholders resolved from the SGP sandbox's own data, never copied into YAML:
`{pix:F}` PIX copy-and-paste code of invoice F, `{line:F}` its boleto digitable line, `{amount:F}` the amount due
today as the bot writes it ("R$ 102,37"), `{due:F}` its due date (dd/mm/yyyy), `{link:F}` its boleto link, and
`{protocol}` the last ticket protocol the SGP sandbox handed out during the scenario, and `{today+N}` the date N days
from today in the provider's timezone (dd/mm/yyyy: a trust unlock's promise date).

`niochat eval` runs everything itself: configured PostgreSQL/Redis (else embedded ones under DATA_DIR/eval), a fresh
database dropped afterwards, the sandboxes, two API servers and a worker on loopback. Workers of another
installation on the same configured Redis would take its jobs (they share the queue): give it a Redis of its own.

Rates: pass rate = claimed scenarios passed / claimed scenarios run; automatic-resolution rate = claimed
scenarios the bot finished without any handoff (no transfer, never queued for humans) / claimed scenarios run.

The package, one module per job: `scenarios` (the format above, parsed and loaded), `facts` (the placeholders'
values from the SGP sandbox), `runner` (a scenario turn by turn), `report` (results and rates), `stack` (the local
stack) and `command` (`niochat eval` itself).
"""

from cli.evaluation.command import eval_command
from cli.evaluation.report import Report, ScenarioResult
from cli.evaluation.runner import Endpoints, Runner
from cli.evaluation.scenarios import Scenario, ScenarioError, load_scenarios, parse_scenario
from cli.evaluation.stack import local_stack

__all__ = ["Endpoints", "Report", "Runner", "Scenario", "ScenarioError", "ScenarioResult", "eval_command",
           "load_scenarios", "local_stack", "parse_scenario"]
