from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from nguon.core.errors import NotFound
from nguon.help.guides import INDEX, all_guides, get_guide


@login_required
def index(request):
    return guide(request, INDEX)


@login_required
def guide(request, slug: str):
    page = get_guide(slug)
    if page is None:
        raise NotFound()
    return render(request, "help/guide.html", {"guide": page, "guides": all_guides(), "current": slug})
