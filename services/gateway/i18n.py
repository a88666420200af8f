"""Chinese first, English on request: interface texts, field labels, and bilingual service messages."""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# Interface texts: key -> (中文, English).
TEXT: dict[str, tuple[str, str]] = {
    "app": ("惠民实事监督平台", "Huimin supervision platform"),
    "city": ("景洪市人大常委会", "Jinghong People's Congress Standing Committee"),
    "board": ("全市看板", "City board"), "projects": ("惠民实事", "Projects"), "groups": ("代表小组", "Groups"),
    "delegates": ("代表", "Delegates"), "departments": ("责任单位", "Departments"),
    "calendar": ("活动日历", "Activity calendar"), "feedback": ("意见建议台账", "Feedback ledger"),
    "briefings": ("工作简报", "Briefings"), "map": ("位置分布", "Locations"), "work": ("日常工作", "Daily work"),
    "my_record": ("我的履职", "My record"), "users": ("用户管理", "Users"), "api": ("接口文档", "API docs"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "username": ("用户名", "User name"),
    "password": ("密码", "Password"), "submit": ("提交", "Submit"), "search": ("查询", "Search"),
    "export_csv": ("导出 CSV", "Export CSV"), "export_xlsx": ("导出 Excel", "Export Excel"),
    "print": ("打印", "Print"), "no_data": ("暂无数据", "No data yet"), "all": ("全部", "All"),
    "not_available": ("此视图尚未提供", "This view is not available yet"),
    "forbidden": ("无权查看", "Not allowed"), "saved": ("已保存", "Saved"), "error": ("出错了", "Error"),
    "status_chart": ("项目状态", "Project status"), "progress_chart": ("项目进度", "Project progress"),
    "category_chart": ("项目类别", "Projects by category"), "votes_chart": ("票决结果", "Vote results"),
    "filters": ("筛选", "Filters"), "details": ("详情", "Details"), "timeline": ("时间线", "Timeline"),
    "supervision": ("联系监督", "Supervision"), "milestones": ("实施计划", "Plan and milestones"),
    "record": ("代表履职登记", "Performance record"), "members": ("成员", "Members"),
    "actions": ("操作", "Actions"), "forms": ("办理", "Forms"), "import": ("批量导入", "Import"),
    "import_file": ("导入文件（CSV 或 XLSX，首行为字段名）", "File (CSV or XLSX, first row = field names)"),
    "imported": ("导入结果", "Import result"), "attachments": ("附件", "Attachments"),
    "offline_map": ("离线示意图：按经纬度绘制，不加载在线地图", "Offline plot by coordinates; no online map tiles"),
    "suggestion": ("就近推荐", "Proximity suggestion"), "language": ("English", "中文"),
    "previous": ("上月", "Previous"), "next": ("下月", "Next"), "today": ("今天", "Today"),
    "role": ("角色", "Role"), "create_user": ("新增用户", "Create user"), "tokens": ("接口令牌", "API tokens"),
    "mobile_hint": ("手机上也可填报", "Works on a phone"), "open": ("打开", "Open"),
    "year": ("年度", "Year"), "back": ("返回", "Back"), "json_hint": ("JSON 格式", "JSON"),
    "welcome": ("欢迎", "Welcome"), "contact_points": ("联系点", "Contact points"),
    "contact_logs": ("联系记录", "Contact logs"),
}

# Field labels for tables, exports and forms: name -> (中文, English).
LABELS: dict[str, tuple[str, str]] = {
    "year": ("年度", "Year"), "code": ("编号", "Code"), "title": ("名称", "Title"), "category": ("类别", "Category"),
    "lead_unit": ("牵头单位", "Lead unit"), "co_units": ("配合单位", "Co-units"), "description": ("说明", "Description"),
    "votes_for": ("赞成", "For"), "votes_against": ("反对", "Against"), "votes_abstain": ("弃权", "Abstain"),
    "voted_on": ("票决日期", "Voted on"), "status": ("状态", "Status"), "updated_at": ("更新时间", "Updated"),
    "project_id": ("项目", "Project"), "delegate_id": ("代表编号", "Delegate"), "name": ("姓名/名称", "Name"),
    "gender": ("性别", "Gender"), "ethnicity": ("民族", "Ethnicity"), "level": ("代表层级", "Level"),
    "constituency": ("选区", "Constituency"), "occupation": ("职业", "Occupation"), "work_unit": ("工作单位", "Work unit"),
    "phone": ("联系电话", "Phone"), "home": ("居住地", "Home"), "work": ("工作地", "Workplace"),
    "township": ("乡镇/街道", "Township"), "townships": ("乡镇/街道", "Townships"), "group_id": ("代表小组", "Group"),
    "committee_id": ("专工委", "Committee"), "percent": ("进度%", "Progress %"),
    "progress": ("进度", "Progress"), "progress_percent": ("进度%", "Progress %"), "milestones": ("里程碑", "Milestones"),
    "due": ("截止日期", "Due"), "activity_id": ("活动", "Activity"), "kind": ("类型", "Kind"),
    "date": ("日期", "Date"), "starts_at": ("开始时间", "Starts"), "ends_at": ("结束时间", "Ends"),
    "scheduled_on": ("日期", "Date"), "location": ("地点", "Place"), "attendance": ("出勤", "Attendance"),
    "present": ("出席", "Present"), "absent": ("缺席", "Absent"), "excused": ("请假", "Excused"),
    "feedback_id": ("意见编号", "Feedback"), "content": ("内容", "Content"), "answer": ("答复", "Answer"),
    "rating": ("评价", "Rating"), "total": ("合计", "Total"), "budget_wan": ("预算（万元）", "Budget (10k CNY)"),
    "dept_code": ("部门代码", "Department code"), "department": ("责任单位", "Department"),
    "short_name": ("简称", "Short name"), "label": ("标注", "Label"), "lat": ("纬度", "Latitude"), "lon": ("经度", "Longitude"),
    "reason": ("原因", "Reason"), "term_start": ("任期开始", "Term start"), "occurred_at": ("发生时间", "Occurred"),
    "recorded_at": ("登记时间", "Recorded"), "actor": ("操作人", "Actor"), "type": ("事项", "Event"),
    "summary": ("摘要", "Summary"), "count": ("数量", "Count"), "role": ("角色", "Role"), "username": ("用户名", "User"),
    "display_name": ("显示名", "Display name"), "active": ("启用", "Active"), "created_at": ("创建时间", "Created"),
    "raised_by": ("提出代表", "Raised by"), "raised_on": ("提出日期", "Raised on"), "delegate_ids": ("代表", "Delegates"),
    "attachments": ("附件", "Attachments"), "note": ("备注", "Note"), "notes": ("备注", "Notes"),
    "problems": ("存在问题", "Problems"), "as_of": ("截至日期", "As of"), "group": ("代表小组", "Group"),
    "members": ("成员", "Members"), "contact_point_id": ("联系点", "Contact point"), "overdue": ("逾期", "Overdue"),
    "member_count": ("成员人数", "Members (count)"),
    "reports": ("进展通报", "Progress reports"), "plans": ("实施计划", "Plans"), "plan": ("实施计划", "Plan"),
    "obstacles": ("困难问题", "Obstacles"), "items": ("列表", "Items"), "leader_name": ("联系领导", "Leader"),
    "committee_name": ("专工委", "Committee"), "group_name": ("代表小组", "Group"), "assigned_at": ("分配时间", "Assigned"),
    "changes": ("变更次数", "Changes"), "contact_delegates": ("联系代表", "Contact delegates"),
    "target_completion": ("计划完成日期", "Target completion"), "plan_submitted_on": ("计划报送日期", "Plan submitted"),
    "plan_late": ("计划逾期", "Plan late"), "plan_days_late": ("逾期天数", "Days late"), "plan_revision": ("计划版本", "Plan revision"),
    "milestones_completed": ("已完成节点", "Milestones done"), "last_report_as_of": ("最近通报截至", "Last report as of"),
    "last_reported_by": ("最近通报单位", "Last reported by"), "funds_spent_wan": ("已支出（万元）", "Spent (10k CNY)"),
    "open_obstacles": ("未解决问题", "Open obstacles"), "completed_on": ("竣工日期", "Completed"),
    "accepted_on": ("验收日期", "Accepted"), "cancelled_on": ("取消日期", "Cancelled"), "cancel_reason": ("取消原因", "Why cancelled"),
    "weight": ("权重", "Weight"), "revision": ("版本", "Revision"), "dated_on": ("日期", "Dated"), "late": ("逾期", "Late"),
    "correction": ("更正", "Correction"), "correction_reason": ("更正原因", "Why corrected"), "narrative": ("进展情况", "Narrative"),
    "leader_id": ("组长/领导", "Leader"), "place": ("地点", "Place"), "organiser": ("组织者", "Organiser"),
    "form": ("会议形式", "Form"), "project_ids": ("项目", "Projects"), "group_ids": ("代表小组", "Groups"),
    "invited": ("应到", "Invited"), "walk_ins": ("临时参加", "Walk-ins"), "opinions": ("意见", "Opinions"),
    "minutes": ("纪要", "Minutes"), "findings": ("发现问题", "Findings"), "established_on": ("设立日期", "Established"),
    "contacted_on": ("联系日期", "Contacted on"), "logs": ("联系次数", "Logs"), "last_contact_on": ("最近联系", "Last contact"),
    "difficulties": ("存在困难", "Difficulties"), "public_response": ("群众反响", "Public response"),
    "demands": ("意见要求", "Demands"), "help_given": ("帮助方式", "Help given"), "source": ("来源", "Source"),
    "main_department": ("主办单位", "Main department"), "co_departments": ("协办单位", "Co-departments"),
    "forwarded_on": ("交办日期", "Forwarded"), "due_on": ("办理期限", "Due"), "result": ("办理结果", "Result"),
    "rated_by": ("评价代表", "Rated by"), "full_name": ("全称", "Full name"), "excuse_reason": ("请假事由", "Excuse"),
    "walk_in": ("临时参加", "Walk-in"), "original_status": ("原记录", "Original"), "ref": ("对象", "Subject"),
    "personal": ("个人信息（仅办公室可见）", "Personal data (office only)"), "groups": ("代表小组", "Groups"),
    "is_leader": ("组长", "Group leader"), "ended_on": ("任期结束", "Term ended"), "end_reason": ("结束原因", "Why ended"),
    "contact_duties": ("联系责任", "Contact duties"), "public_source": ("群众来源", "Public source"),
    "round": ("轮次", "Round"), "expected_percent": ("应达进度%", "Expected %"),
    "last_report_on": ("最近通报", "Last report"), "reasons": ("原因", "Reasons"), "compliance": ("四个一", "Four ones"),
    "lifecycle": ("阶段", "Lifecycle"), "phase": ("阶段", "Phase"), "counts": ("统计", "Counts"), "body": ("内容", "Content"), "event": ("事项", "Event"), "activity": ("活动", "Activity"), "age": ("年龄", "Age"),
    # Fields of commands, events and view answers (tests/unit/test_gateway_labels.py keeps this complete).
    "accepted_by": ("验收组织单位", "Accepted by"), "conclusion": ("验收结论", "Conclusion"), "activities": ("活动", "Activities"),
    "activities_by_kind": ("各类活动次数", "Activities by kind"), "activities_held": ("已开展活动", "Activities held"),
    "activities_total": ("活动总数", "Activities in total"), "adjustments": ("日程调整", "Calendar adjustments"),
    "after": ("调整后", "After"), "amber": ("预警", "Behind"), "answered": ("已答复", "Answered"),
    "answered_at": ("答复时间", "Answered at"), "answered_late": ("逾期答复", "Answered late"),
    "assigned": ("已分配", "Assigned"), "assignment": ("联系监督分配", "Supervision assignment"),
    "attendance_by_kind": ("各类活动出勤", "Attendance by kind"), "basically_satisfied": ("基本满意", "Basically satisfied"),
    "before": ("调整前", "Before"), "behind": ("落后", "Behind"), "calendar": ("年度日程", "Year calendar"),
    "categories": ("对口类别", "Categories"), "city_size": ("全市代表数", "Delegates in the city"),
    "closed": ("已关闭", "Closed"), "closed_on": ("办结日期", "Closed on"), "co_replies": ("协办单位答复", "Co-department replies"),
    "comment": ("评价意见", "Comment"), "committee": ("专工委", "Committee"), "committee_ids": ("分管专工委", "Committees"),
    "committees": ("专工委", "Committees"), "contact_duty": ("联系责任", "Contact duty"), "contact_log": ("联系记录", "Contact log"),
    "contact_points": ("联系点", "Contact points"), "content_base64": ("文件", "File"), "content_type": ("文件类型", "File type"),
    "contribution": ("奉献助推", "Contribution"), "contributions": ("奉献助推", "Contributions"),
    "covers_category": ("对口本类别", "Covers the category"), "day": ("日期", "Day"), "days_late": ("逾期天数", "Days late"),
    "days_left": ("剩余天数", "Days left"), "days_overdue": ("逾期天数", "Days overdue"),
    "delegate_names": ("代表姓名", "Delegate names"), "delegates": ("代表", "Delegates"),
    "department_names": ("单位名称", "Department names"), "department_visit": ("走访职能部门", "Department visits"),
    "departments": ("责任单位", "Departments"), "distance_km": ("距离（公里）", "Distance (km)"), "done": ("已完成", "Done"),
    "end": ("结束日期", "End"), "entries": ("出勤登记", "Entries"), "evaluation": ("满意度测评", "Evaluation"),
    "evaluation_scope": ("测评范围", "Evaluation scope"), "evaluation_vote": ("满意度测评投票", "Evaluation vote"),
    "evidence": ("依据", "Evidence"), "expected": ("应达", "Expected"), "feedback": ("意见建议", "Feedback"),
    "feedback_new": ("新增意见建议", "New feedback"), "feedback_overdue": ("逾期意见建议", "Overdue feedback"),
    "fields": ("字段", "Fields"), "file_name": ("文件名", "File name"), "filename": ("文件名", "File name"),
    "four_ones": ("四个一", "Four ones"), "from": ("原状态", "From"), "green": ("正常", "On track"),
    "grey": ("未开始", "Not started"), "group_phases": ("小组阶段", "Group phases"), "group_size": ("小组人数", "Group size"),
    "handler": ("经办人", "Handler"), "help_note": ("帮助说明", "Help note"), "helped": ("协助内容", "Help given"),
    "html": ("网页版", "HTML"), "id": ("编号", "Id"), "in_charge": ("分管", "In charge"), "inspection": ("视察", "Inspections"),
    "inspections": ("视察", "Inspections"), "item": ("事项", "Item"), "key": ("附件", "Attachment key"),
    "leader": ("组长/联系领导", "Leader"), "leaders": ("常委会领导", "Leaders"), "limit": ("条数上限", "Limit"),
    "load": ("已联系项目数", "Projects in charge"), "locations": ("位置", "Locations"), "log_id": ("记录编号", "Log id"),
    "main_department_name": ("主办单位简称", "Main department (short)"), "markdown": ("文本版", "Markdown"),
    "members_near": ("就近成员数", "Members nearby"), "met": ("已落实", "Met"), "mobilisation": ("动员会", "Mobilisation"),
    "new_due_on": ("新办理期限", "New due date"), "obstacle_id": ("问题编号", "Obstacle id"),
    "obstacles_open": ("未解决问题", "Open obstacles"), "of": ("应落实", "Required"), "offset": ("跳过条数", "Offset"),
    "open": ("未办结", "Open"), "open_feedback": ("未办结意见建议", "Open feedback"), "opinion": ("意见", "Opinion"),
    "opinion_adopted": ("意见被采纳", "Opinion adopted"), "opinion_id": ("意见编号", "Opinion id"),
    "outcome_recorded": ("已记录成果", "Outcome recorded"), "overdue_answers": ("逾期未答复", "Overdue answers"),
    "overdue_notified_on": ("逾期通知日期", "Overdue notice on"), "override_reason": ("例外原因", "Why an exception"),
    "period": ("周期", "Period"), "phase_today": ("当前阶段", "Phase today"), "phases": ("阶段", "Phases"),
    "plan_deadline": ("计划报送期限", "Plan deadline"), "planned_actions": ("拟采取措施", "Planned actions"),
    "planned_by": ("计划完成日期", "Planned by"), "points": ("得分", "Points"), "previous": ("原值", "Previous"),
    "previous_status": ("原状态", "Previous status"), "project": ("项目", "Project"),
    "project_has_places": ("项目有位置", "Project has places"), "project_title": ("项目名称", "Project title"),
    "projects": ("项目", "Projects"), "rank": ("排名", "Rank"), "rank_city": ("全市排名", "City rank"),
    "rank_group": ("小组排名", "Group rank"), "rate": ("比率", "Rate"), "rated_on": ("评价日期", "Rated on"),
    "rating_comment": ("评价意见", "Rating comment"), "rating_label": ("评价", "Rating"), "receipts": ("签收", "Receipts"),
    "received_at": ("签收时间", "Received at"), "recommendations": ("意见建议", "Recommendations"),
    "red": ("滞后", "Late"), "reminded_on": ("提醒日期", "Reminded on"), "reopened_on": ("重新交办日期", "Reopened on"),
    "report": ("报告", "Report"), "reported": ("已通报", "Reported"), "reported_by": ("报送单位", "Reported by"),
    "reported_on": ("报告日期", "Reported on"), "research": ("调研献策", "Research"), "resolution": ("解决情况", "Resolution"),
    "resolved": ("已解决", "Resolved"), "resolved_on": ("解决日期", "Resolved on"), "result_label": ("办理结果", "Result"),
    "revised_on": ("修订日期", "Revised on"), "round_started_on": ("本轮开始日期", "Round started"),
    "rounds": ("办理轮次", "Rounds"), "row": ("行号", "Row"), "rows": ("数据行", "Rows"), "rubric": ("评分标准", "Rubric"),
    "same_township": ("同一乡镇", "Same township"), "satisfaction": ("满意度", "Satisfaction"),
    "satisfied": ("满意", "Satisfied"), "score": ("得分", "Score"), "session_end": ("人代会闭幕", "Session end"),
    "session_start": ("人代会开幕", "Session start"), "sha256": ("校验值", "SHA-256"), "size": ("大小", "Size"),
    "skipped_inactive": ("未邀请（已离任）", "Skipped (inactive)"), "source_label": ("来源", "Source"),
    "start": ("开始日期", "Start"), "started_on": ("开始日期", "Started on"), "starts_on": ("开始日期", "Starts on"),
    "status_label": ("状态", "Status"), "stream_id": ("记录", "Record"), "submitted_on": ("报送日期", "Submitted on"),
    "supervision": ("联系监督", "Supervision"), "text": ("说明", "Text"), "to": ("新状态", "To"), "today": ("今天", "Today"),
    "totals": ("合计", "Totals"), "turned": ("状态变化", "Status changes"), "unsatisfied": ("不满意", "Unsatisfied"),
    "via": ("推荐依据", "Via"), "message_id": ("报送编号", "Message id"), "matched": ("符合条件", "Matching"),
    "next_offset": ("下一页起点", "Next offset"), "attendance_total": ("出勤登记人数", "Attendance rows"),
    "attendance_offset": ("出勤登记跳过条数", "Attendance offset"),
    "attendance_next_offset": ("出勤登记下一页起点", "Attendance next offset"), "kind_zh": ("问题类型", "Obstacle kind"), "voter_visit": ("走访选民", "Voter visits"), "year_open": ("年度已开启", "Year open"),
}

# Values that read better translated (statuses, kinds).
VALUES: dict[str, tuple[str, str]] = {
    "voted": ("已票决", "voted"), "planned": ("已报计划", "planned"), "in_progress": ("实施中", "in progress"),
    "completed": ("已完成", "completed"), "accepted": ("已验收", "accepted"), "obstructed": ("受阻", "obstructed"),
    "green": ("正常", "on track"), "amber": ("预警", "behind"), "red": ("滞后", "late"), "grey": ("未开始", "not started"),
    "inspection": ("视察", "inspection"), "research": ("调研献策", "research"), "contribution": ("奉献助推", "contribution"),
    "mobilisation": ("动员会/座谈会", "mobilisation"), "summary": ("交流总结", "summary"),
    "present": ("出席", "present"), "absent": ("缺席", "absent"), "excused": ("请假", "excused"),
    "open": ("待办理", "open"), "forwarded": ("已转办", "forwarded"), "answered": ("已答复", "answered"),
    "rated": ("已评价", "rated"), "reopened": ("重新办理", "reopened"), "closed": ("已办结", "closed"),
    "satisfied": ("满意", "satisfied"), "basically_satisfied": ("基本满意", "basically satisfied"),
    "dissatisfied": ("不满意", "dissatisfied"), "scheduled": ("已安排", "scheduled"), "held": ("已举行", "held"),
    "cancelled": ("已取消", "cancelled"), "True": ("是", "yes"), "False": ("否", "no"),
    "township": ("乡镇", "township"), "subdistrict": ("街道", "sub-district"), "farm": ("农场", "farm"),
    "district": ("片区", "district"), "submitted": ("待交办", "submitted"), "received": ("已签收", "received"),
    "unsatisfied": ("不满意", "unsatisfied"), "adopted": ("采纳", "adopted"), "partly_adopted": ("部分采纳", "partly adopted"),
    "not_adopted": ("解释说明未采纳", "not adopted"), "voter_visit": ("走访选民", "voter visit"),
    "department_visit": ("走访职能部门", "department visit"), "suggestion": ("建议", "suggestion"),
    "opinion": ("意见", "opinion"), "criticism": ("批评", "criticism"), "delegate": ("代表", "delegate"),
    "group": ("代表小组", "group"), "activity": ("活动", "activity"), "public": ("群众意见", "public"),
    "city": ("市级", "city"), "prefecture": ("州级", "prefecture"), "province": ("省级", "province"),
    "national": ("全国", "national"), "invited": ("已邀请", "invited"),
    "resistance": ("遇到阻力", "resistance"), "interference": ("受到干扰", "interference"),
    "slow_progress": ("进展缓慢", "slow progress"),
    "policy_explanation": ("政策解释", "policy explanation"), "mediation": ("化解矛盾", "mediation"),
    "liaison": ("牵线搭桥", "liaison"), "other": ("其他", "other"),
    "all": ("全体代表", "all delegates"), "week": ("按周", "week"), "month": ("按月", "month"),
    "before": ("人代会前", "before the session"), "supervision": ("联系监督", "supervision"),
    "after": ("年度工作结束", "after the year's work"), "evaluation": ("满意度测评", "evaluation"),
    "active": ("进行中", "active"), "lead": ("牵头", "lead"), "co": ("配合", "co-unit"), "main": ("主办", "main"),
    "home": ("居住地", "home"), "work": ("工作地", "workplace"),
}


def lang_of(value: str | None) -> str:
    """A supported language code, Chinese by default."""
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, lang: str) -> str:
    """An interface text."""
    pair = TEXT.get(key)
    return (pair[0] if lang == "zh" else pair[1]) if pair else key


def label(name: str, lang: str) -> str:
    """A field's label; a dotted name (an export's nested column) labels each part: 工作地·纬度.
    Unknown names stay as they are."""
    pairs = [(part, LABELS.get(part)) for part in name.split(".")]
    return "·".join(part if pair is None else pair[0] if lang == "zh" else pair[1] for part, pair in pairs)


def value_text(value: Any, lang: str) -> str:
    """A value as shown: known statuses translated, None empty."""
    if value is None:
        return ""
    pair = VALUES.get(str(value))
    return (pair[0] if lang == "zh" else pair[1]) if pair else str(value)


def pick(message: str, lang: str) -> str:
    """The half of a bilingual "中文 / English" message for the language."""
    if " / " not in message:
        return message
    zh, en = message.split(" / ", 1)
    return zh if lang == "zh" else en


# What each command is called on the dashboard: (service, command) -> (中文, English).
COMMAND_TITLES: dict[tuple[str, str], tuple[str, str]] = {
    ("projects", "open_year"): ("开启年度", "Open the year"),
    ("projects", "adjust_year_calendar"): ("调整年度日程", "Adjust the year's calendar"),
    ("projects", "close_year"): ("关闭年度记录", "Close the year"),
    ("projects", "register_department"): ("登记责任单位", "Register a department"),
    ("projects", "import_departments"): ("导入责任单位", "Import departments"),
    ("projects", "register_voted_project"): ("登记票决项目", "Register a voted project"),
    ("projects", "import_voted_projects"): ("导入票决结果", "Import vote results"),
    ("projects", "submit_plan"): ("报送实施计划", "Submit the plan"),
    ("projects", "revise_plan"): ("修订实施计划", "Revise the plan"),
    ("projects", "report_progress"): ("通报进展情况", "Report progress"),
    ("projects", "report_obstacle"): ("报告困难问题", "Report an obstacle"),
    ("projects", "resolve_obstacle"): ("问题已解决", "Resolve an obstacle"),
    ("projects", "complete_project"): ("项目竣工", "Complete the project"),
    ("projects", "accept_project"): ("项目验收", "Accept the project"),
    ("projects", "cancel_project"): ("取消项目", "Cancel the project"),
    ("delegates", "register_delegate"): ("登记代表", "Register a delegate"),
    ("delegates", "change_delegate_details"): ("修改代表信息", "Change a delegate's details"),
    ("delegates", "end_delegate_term"): ("代表任期结束", "End a delegate's term"),
    ("delegates", "import_roster"): ("导入代表名册", "Import the roster"),
    ("delegates", "form_group"): ("成立代表小组", "Form a group"),
    ("delegates", "add_group_member"): ("加入代表小组", "Add a group member"),
    ("delegates", "remove_group_member"): ("退出代表小组", "Remove a group member"),
    ("delegates", "appoint_group_leader"): ("任命组长", "Appoint the group leader"),
    ("delegates", "register_leader"): ("登记常委会领导", "Register a leader"),
    ("delegates", "register_committee"): ("登记专工委", "Register a committee"),
    ("delegates", "assign_supervision"): ("分配联系监督", "Assign supervision"),
    ("delegates", "assign_contact_duty"): ("落实代表联系责任", "Assign contact duty"),
    ("delegates", "release_contact_duty"): ("解除联系责任", "Release contact duty"),
    ("activities", "schedule_activity"): ("安排活动（视察、调研等）", "Schedule an activity"),
    ("activities", "reschedule_activity"): ("活动改期", "Reschedule an activity"),
    ("activities", "cancel_activity"): ("取消活动", "Cancel an activity"),
    ("activities", "invite_delegates"): ("邀请代表参加", "Invite delegates"),
    ("activities", "record_attendance"): ("登记出勤", "Record attendance"),
    ("activities", "check_in"): ("活动签到", "Check in"),
    ("activities", "issue_check_in_code"): ("查看签到码", "Show the check-in code"),
    ("activities", "correct_attendance"): ("更正出勤", "Correct attendance"),
    ("activities", "record_outcome"): ("记录活动成果", "Record the outcome"),
    ("activities", "raise_opinions"): ("补充活动意见", "Add opinions"),
    ("activities", "establish_contact_point"): ("设立项目联系点", "Establish a contact point"),
    ("activities", "change_contact_point_delegates"): ("调整联系点代表", "Change contact-point delegates"),
    ("activities", "log_contact"): ("填写联系记录", "Log a contact"),
    ("feedback", "submit_feedback"): ("提交意见建议", "Submit feedback"),
    ("feedback", "forward_feedback"): ("交办意见建议", "Forward feedback"),
    ("feedback", "rate_feedback"): ("评价办理答复", "Rate the answer"),
    ("feedback", "sweep_deadlines"): ("检查办理期限", "Check deadlines now"),
    ("feedback", "cast_evaluation_vote"): ("满意度测评投票", "Cast an evaluation vote"),
    ("projection", "rebuild"): ("重建数据视图", "Rebuild read models"),
}


def command_title(group: str, name: str, fallback: str, lang: str) -> str:
    """A command's title on the dashboard; its docstring's first line when it has none yet."""
    pair = COMMAND_TITLES.get((group, name))
    return (pair[0] if lang == "zh" else pair[1]) if pair else fallback
