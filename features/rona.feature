@mock-only @changes-state @rona @epic:control-api @story:rona
Feature: Redirect on no answer
  An agent who misses or declines an offered task is set Away and is not considered until that is
  reset; the task goes to the next available agent, or waits when only preferred agents count.
  Time runs on the mock's simulated clock, so a 50 s RONA timeout costs no real time. The agents'
  answers are the seed's (`lucs_harness/mock/seed.json`, "Behaviour"): smoky.ff never answers,
  smoky.gg declines, smoky.ee answers after 5 seconds.

  Scenario: An agent who never answers is set Away when the RONA timeout expires, and the task waits
    Given the user "sip:smoky.ff@dev.local" is selectable in the service
    When I post an external task that prefers only the user "sip:smoky.ff@dev.local" with a RONA timeout of 50 seconds
    Then the task is offered to the user "sip:smoky.ff@dev.local"
    When 49 seconds pass on the mock clock
    Then the task is still offered to the user "sip:smoky.ff@dev.local"
    When 1 more second passes on the mock clock
    Then the task stays pending
    And the user "sip:smoky.ff@dev.local" as listed has:
      | field         | value |
      | PresenceState | Away  |
      | IsSelectable  | false |

  Scenario: A declined task goes at once to the next preferred agent
    Given the user "sip:smoky.gg@dev.local" is selectable in the service
    When I post an external task that prefers only the users "sip:smoky.gg@dev.local, sip:smoky.cc@dev.local" with a RONA timeout of 50 seconds
    Then the task is distributed to and accepted by the user "sip:smoky.cc@dev.local"
    And the user "sip:smoky.gg@dev.local" as listed has:
      | field         | value |
      | PresenceState | Away  |
      | IsSelectable  | false |

  Scenario: An agent who answers after 5 seconds accepts when the clock gets there
    Given the user "sip:smoky.ee@dev.local" is selectable in the service
    When I post an external task that prefers only the user "sip:smoky.ee@dev.local" with a RONA timeout of 50 seconds
    And 4 seconds pass on the mock clock
    Then the task is still offered to the user "sip:smoky.ee@dev.local"
    When 1 more second passes on the mock clock
    Then the task is distributed to and accepted by the user "sip:smoky.ee@dev.local"

  Scenario: A task missed by one agent goes to the next preferred agent when the RONA timeout expires
    Given the user "sip:smoky.ff@dev.local" is selectable in the service
    When I post an external task that prefers only the users "sip:smoky.ff@dev.local, sip:smoky.dd@dev.local" with a RONA timeout of 50 seconds
    And 50 seconds pass on the mock clock
    Then the task is distributed to and accepted by the user "sip:smoky.dd@dev.local"
    And the user "sip:smoky.ff@dev.local" as listed has:
      | field         | value |
      | PresenceState | Away  |

  Scenario: An agent set Away by RONA is offered the waiting task again once their presence is reset
    Given the user "sip:smoky.ff@dev.local" is selectable in the service
    When I post an external task that prefers only the user "sip:smoky.ff@dev.local" with a RONA timeout of 50 seconds
    And 50 seconds pass on the mock clock
    Then the task stays pending
    When I set the presence of the user "sip:smoky.ff@dev.local" to "Online"
    Then the task is offered to the user "sip:smoky.ff@dev.local"
