"""The department registry (given/when/then)."""

from __future__ import annotations

from services.projects.department import department_decider
from shared.contracts.projects import DepartmentRegistered, RegisterDepartment
from shared.errors import Conflict
from tests.support import given

REGISTER = RegisterDepartment(code="jhzjj", full_name="景洪市住房和城乡建设局", short_name="市住建局")
REGISTERED = DepartmentRegistered(code="jhzjj", name="景洪市住房和城乡建设局", short_name="市住建局")


def test_registering_a_department():
    given(department_decider).when(REGISTER).then(REGISTERED)


def test_a_code_is_registered_once():
    err = given(department_decider, REGISTERED).when(REGISTER.model_copy(update={"full_name": "别的单位"})).raises(Conflict)
    assert err.details[0]["code"] == "department_exists" and err.details[0]["field"] == "code"
